"""The sandbox's data plane: real local processes playing the production components."""
