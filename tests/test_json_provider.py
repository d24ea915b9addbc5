"""API responses are written by orjson (nexus/ui/json_provider.py): the same JSON a client
parses, made as bytes once instead of three copies of a text (issue 13: a big page of
messages in flight with each poll)."""

from __future__ import annotations

import dataclasses
import json
import tracemalloc
from typing import Any

from flask import Flask, jsonify
from flask.json.provider import DefaultJSONProvider

from nexus.ui.json_provider import OrjsonProvider


def _app(provider: type[DefaultJSONProvider] = OrjsonProvider) -> Flask:
    app = Flask(__name__)
    app.json = provider(app)
    return app


@dataclasses.dataclass
class _Point:
    x: int


def test_a_response_is_the_json_a_client_reads() -> None:
    data = {"b": 1, "a": [1.5, None, True], "text": "café ✓ <b>", 7: "a number key", "point": _Point(3)}
    with _app().app_context():
        response = jsonify(data)
    assert response.mimetype == "application/json" and response.data.endswith(b"\n")
    assert json.loads(response.data) == {"b": 1, "a": [1.5, None, True], "text": "café ✓ <b>", "7": "a number key",
                                         "point": {"x": 3}}
    assert list(json.loads(response.data)) == ["b", "a", "text", "7", "point"], "keys keep their order"


def _peak_writing(provider: type[DefaultJSONProvider], payload: dict[str, Any]) -> tuple[int, bytes]:
    with _app(provider).app_context():
        tracemalloc.start()
        try:
            response = jsonify(payload)
            return tracemalloc.get_traced_memory()[1], response.data
        finally:
            tracemalloc.stop()


def test_a_big_response_is_made_once() -> None:
    messages = [{"id": f"msg_{n:04d}", "parts": [{"kind": "text", "text": f"word{n} " * 1500}]} for n in range(60)]
    ours, body = _peak_writing(OrjsonProvider, {"messages": messages})
    flasks, _ = _peak_writing(DefaultJSONProvider, {"messages": messages})  # text, text + newline, then bytes
    assert json.loads(body) == {"messages": messages}
    assert ours < 0.9 * flasks, f"{ours / len(body):.2f}x the body in memory while writing it, Flask's own " \
                                f"{flasks / len(body):.2f}x"
