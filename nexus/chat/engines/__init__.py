"""Agent engines. Each one turns its own wire format into the normalized chat events."""
