"""Create, edit, duplicate and delete named agents, and turn one into session options.

An agent is validated whole: a bad request changes nothing and names every bad field.
The options a session starts with are a copy, so editing an agent later does not change
the sessions already started with it.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from nexus.agents.repository import AgentRepository
from nexus.chat.engines.anthropic import pricing
from nexus.chat.engines.anthropic.tools import ALL_TOOLS
from nexus.chat.engines.opencode import OPENCODE_TOOLS
from nexus.errors import ServiceError

ENGINES = ("opencode", "anthropic")
MAX_SYSTEM = 50_000
MAX_OUTPUT_TOKENS = 128_000


class AgentError(ServiceError):
    def __init__(self, message: str, status: int = 400, code: str = "bad_agent",
                 fields: dict[str, str] | None = None) -> None:
        super().__init__(message, status, code, **({"fields": fields} if fields else {}))
        self.fields = fields or {}


def tool_names(engine: str) -> tuple[str, ...]:
    return ALL_TOOLS if engine == "anthropic" else OPENCODE_TOOLS


class AgentService:
    def __init__(self, repo: AgentRepository) -> None:
        self._repo = repo

    def list(self) -> list[dict[str, Any]]:
        return self._repo.list()

    def get(self, agent_id: str) -> dict[str, Any]:
        agent = self._repo.get(agent_id)
        if agent is None:
            raise AgentError("No such agent.", 404, "not_found")
        return agent

    def create(self, data: dict[str, Any]) -> dict[str, Any]:
        agent = self._validate(data)
        now = time.time()
        agent.update(id=f"ag_{uuid.uuid4().hex[:16]}", created_at=now, updated_at=now)
        self._repo.insert(agent)
        return self.get(agent["id"])

    def update(self, agent_id: str, data: dict[str, Any]) -> dict[str, Any]:
        current = self.get(agent_id)
        agent = self._validate({**current, **data}, except_id=agent_id)
        agent["updated_at"] = time.time()
        self._repo.update(agent_id, agent)
        return self.get(agent_id)

    def duplicate(self, agent_id: str) -> dict[str, Any]:
        source = self.get(agent_id)
        base = f"{source['name']} (copy)"
        name, n = base, 2
        while self._repo.name_taken(name):
            name, n = f"{base} {n}", n + 1
        return self.create({**source, "name": name[:100]})

    def delete(self, agent_id: str) -> None:
        if not self._repo.delete(agent_id):
            raise AgentError("No such agent.", 404, "not_found")

    def session_options(self, agent_id: str) -> dict[str, Any]:
        """What a session started with this agent needs: engine, model, agent label, options."""
        agent = self.get(agent_id)
        options = {"agent_id": agent["id"], "name": agent["name"], "system": agent["system_prompt"] or None,
                   "tools": agent["tools"], "temperature": agent["temperature"], "max_tokens": agent["max_tokens"],
                   "thinking_budget": agent["thinking_budget"]}
        label = agent["opencode_agent"] if agent["engine"] == "opencode" and agent["opencode_agent"] else agent["name"]
        return {"engine": agent["engine"], "model": agent["model"], "agent": label, "options": options}

    # ----- validation -------------------------------------------------------------------------------

    def _validate(self, data: dict[str, Any], except_id: str | None = None) -> dict[str, Any]:
        errors: dict[str, str] = {}
        out: dict[str, Any] = {}
        name = data.get("name")
        if not isinstance(name, str) or not " ".join(name.split()):
            errors["name"] = "Give the agent a name."
        else:
            out["name"] = " ".join(name.split())[:100]
            if self._repo.name_taken(out["name"], except_id):
                errors["name"] = f"An agent named {out['name']!r} exists already."
        engine = data.get("engine")
        if engine not in ENGINES:
            errors["engine"] = "Pick OpenCode or Anthropic."
            engine = "anthropic"
        out["engine"] = engine
        out["model"] = _optional_text(data.get("model"), "model", 200, errors)
        if engine == "anthropic" and not out["model"]:
            out["model"] = pricing.default_model()
        if engine == "opencode" and out["model"] and "/" not in out["model"]:
            errors["model"] = "An OpenCode model is written provider/model."
        out["opencode_agent"] = _optional_text(data.get("opencode_agent"), "opencode_agent", 100, errors) \
            if engine == "opencode" else None
        system = data.get("system_prompt") or ""
        if not isinstance(system, str) or len(system) > MAX_SYSTEM:
            errors["system_prompt"] = f"The system prompt must be text of at most {MAX_SYSTEM:,} characters."
        out["system_prompt"] = system if isinstance(system, str) else ""
        tools = data.get("tools")
        known = tool_names(engine)
        if tools is not None and (not isinstance(tools, list) or any(t not in known for t in tools)):
            errors["tools"] = f"Tools must be a list of: {', '.join(known)}."
        out["tools"] = [t for t in known if t in tools] if isinstance(tools, list) else None
        out["temperature"] = _number(data.get("temperature"), "temperature", 0.0, 1.0, errors, float)
        out["max_tokens"] = _number(data.get("max_tokens"), "max_tokens", 1, MAX_OUTPUT_TOKENS, errors, int)
        budget = _number(data.get("thinking_budget") or 0, "thinking_budget", 0, MAX_OUTPUT_TOKENS, errors, int) or 0
        if budget and budget < 1024:
            errors["thinking_budget"] = "A thinking budget is 0 (off) or at least 1,024 tokens."
        elif budget and out["max_tokens"] is not None and budget >= out["max_tokens"]:
            errors["thinking_budget"] = "The thinking budget must be smaller than max tokens."
        out["thinking_budget"] = budget
        if errors:
            raise AgentError("Some fields are not valid: " + "; ".join(f"{k}: {v}" for k, v in errors.items()),
                             422, "invalid_agent", errors)
        return out


def _optional_text(value: Any, name: str, limit: int, errors: dict[str, str]) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit:
        errors[name] = f"Must be text of at most {limit} characters."
        return None
    return value.strip() or None


def _number(value: Any, name: str, low: float, high: float, errors: dict[str, str], kind: type) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
        errors[name] = f"Must be {'a whole number' if kind is int else 'a number'}."
        return None
    if not low <= value <= high:
        errors[name] = f"Must be between {low:g} and {high:g}."
        return None
    return kind(value)
