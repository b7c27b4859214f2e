"""The runbooks: world-blind step lists the engine (ops/) runs against a world (world/)."""
