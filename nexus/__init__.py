"""Nexus: a desktop control center for the OpenCode coding agent."""

__version__ = "0.1.0"
