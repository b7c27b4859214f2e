"""The DR drill's parts: a load generator writing through the global edge with every request's outcome logged
(load.py), and the ground truth computed from that log afterwards (truth.py): which acknowledged writes were
lost, what became of the unknown outcomes, when the first write was acknowledged again."""
