"""Named agent configurations (engine, model, system prompt, tools, limits)."""

from nexus.agents.service import AgentError, AgentService

__all__ = ["AgentError", "AgentService"]
