"""The built-in Anthropic engine (see engine.py)."""

from nexus.chat.engines.anthropic.engine import API_KEY_SECRET, ENGINE, AnthropicEngine

__all__ = ["API_KEY_SECRET", "ENGINE", "AnthropicEngine"]
