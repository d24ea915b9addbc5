"""REST for named agents (create, edit, duplicate, delete) and the Anthropic API key
(set, test with a cheap call, forget). The key is never sent back, only whether one is set."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from nexus.agents import AgentError
from nexus.agents.service import ENGINES, tool_names
from nexus.chat.engines.anthropic import API_KEY_SECRET, pricing
from nexus.chat.engines.base import EngineError
from nexus.logs.redact import register_secret
from nexus.secrets import SecretStoreError
from nexus.ui.context import json_body, runtime
from nexus.ui.errors import ApiError


def _guard(call, *args: Any) -> Any:
    try:
        return call(*args)
    except AgentError as exc:
        raise ApiError(exc.status, str(exc), exc.code, **({"fields": exc.fields} if exc.fields else {})) from None


def agent_configs_list() -> Any:
    rt = runtime()
    return jsonify({"agents": rt.agents.list(),
                    "tools": {engine: list(tool_names(engine)) for engine in ENGINES},
                    "anthropic": _key_state()})


def agent_configs_create() -> Any:
    return jsonify(_guard(runtime().agents.create, json_body())), 201


def agent_config_get(agent_id: str) -> Any:
    return jsonify(_guard(runtime().agents.get, agent_id))


def agent_config_update(agent_id: str) -> Any:
    return jsonify(_guard(runtime().agents.update, agent_id, json_body()))


def agent_config_delete(agent_id: str) -> Any:
    _guard(runtime().agents.delete, agent_id)
    return Response(status=204)


def agent_config_duplicate(agent_id: str) -> Any:
    return jsonify(_guard(runtime().agents.duplicate, agent_id)), 201


def anthropic_models() -> Any:
    return jsonify({"models": pricing.models(), "as_of": pricing.table()["as_of"]})


# ----- the API key ------------------------------------------------------------------------------

def _key_state() -> dict[str, Any]:
    rt = runtime()
    return {"has_key": rt.secrets.has(API_KEY_SECRET), "store": rt.secrets.describe(),
            "base_url": rt.settings["anthropic.base_url"]}


def anthropic_key_get() -> Any:
    return jsonify(_key_state())


def _check(key: str) -> dict[str, Any]:
    try:
        return runtime().anthropic.check_key(key)
    except EngineError as exc:
        raise ApiError(exc.status, str(exc), exc.code) from None


def anthropic_key_set() -> Any:
    body = json_body()
    key = body.get("key")
    if not isinstance(key, str) or len(key.strip()) < 20 or any(c.isspace() for c in key.strip()):
        raise ApiError(422, "Paste the API key from console.anthropic.com (a long text starting sk-ant-).",
                       "bad_key", field="key")
    key = key.strip()
    register_secret(key)
    if body.get("test", True):
        _check(key)  # a refused key is not stored
    rt = runtime()
    try:
        rt.anthropic.remember_key(key)
    except SecretStoreError as exc:
        raise ApiError(500, str(exc), "secret_store_failed") from None
    return jsonify({**_key_state(), "tested": bool(body.get("test", True))})


def anthropic_key_test() -> Any:
    if not runtime().secrets.has(API_KEY_SECRET):
        raise ApiError(404, "No Anthropic API key is set.", "no_api_key")
    try:
        result = runtime().anthropic.check_stored_key()
    except EngineError as exc:
        raise ApiError(exc.status, str(exc), exc.code) from None
    return jsonify({"ok": True, "models": result["models"][:1]})


def anthropic_key_delete() -> Any:
    runtime().anthropic.forget_key()
    return jsonify(_key_state())

