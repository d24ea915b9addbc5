"""The OpenCode server supervisor: find, start, watch, restart and measure `opencode serve`."""

from nexus.server.state import ServerState
from nexus.server.supervisor import Supervisor

__all__ = ["ServerState", "Supervisor"]
