"""Nexus API: the records service the Nexus Platform runs."""
