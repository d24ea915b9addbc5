"""REST for named agents (create, edit, duplicate, delete) and the Anthropic API key
(set, test with a cheap call, forget). The key is never sent back, only whether one is set."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from nexus.agents.service import ENGINES, tool_names
from nexus.chat.engines.anthropic import API_KEY_SECRET, pricing
from nexus.logs.redaction import register_secret
from nexus.ui.context import json_body, runtime
from nexus.ui.errors import ApiError


def agent_configs_list() -> Any:
    rt = runtime()
    return jsonify({"agents": rt.agents.list(),
                    "tools": {engine: list(tool_names(engine)) for engine in ENGINES},
                    "anthropic": _key_state()})


def agent_configs_create() -> Any:
    return jsonify(runtime().agents.create(json_body())), 201


def agent_config_get(agent_id: str) -> Any:
    return jsonify(runtime().agents.get(agent_id))


def agent_config_update(agent_id: str) -> Any:
    return jsonify(runtime().agents.update(agent_id, json_body()))


def agent_config_delete(agent_id: str) -> Any:
    runtime().agents.delete(agent_id)
    return Response(status=204)


def agent_config_duplicate(agent_id: str) -> Any:
    return jsonify(runtime().agents.duplicate(agent_id)), 201


def anthropic_models() -> Any:
    return jsonify({"models": pricing.models(), "as_of": pricing.table()["as_of"]})


# ----- the API key ------------------------------------------------------------------------------

def _key_state() -> dict[str, Any]:
    rt = runtime()
    return {"has_key": rt.secrets.has(API_KEY_SECRET), "store": rt.secrets.describe(),
            "base_url": rt.settings["anthropic.base_url"]}


def anthropic_key_get() -> Any:
    return jsonify(_key_state())


def anthropic_key_set() -> Any:
    body = json_body()
    key = body.get("key")
    if not isinstance(key, str) or len(key.strip()) < 20 or any(c.isspace() for c in key.strip()):
        raise ApiError(422, "Paste the API key from console.anthropic.com (a long text starting sk-ant-).",
                       "bad_key", field="key")
    key = key.strip()
    register_secret(key)
    if body.get("test", True):
        runtime().anthropic.check_key(key)  # a refused key is not stored
    rt = runtime()
    rt.anthropic.remember_key(key)
    return jsonify({**_key_state(), "tested": bool(body.get("test", True))})


def anthropic_key_test() -> Any:
    if not runtime().secrets.has(API_KEY_SECRET):
        raise ApiError(404, "No Anthropic API key is set.", "no_api_key")
    result = runtime().anthropic.check_stored_key()
    return jsonify({"ok": True, "models": result["models"][:1]})


def anthropic_key_delete() -> Any:
    runtime().anthropic.forget_key()
    return jsonify(_key_state())

