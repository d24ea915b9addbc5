"""The OpenAPI 3.1 document, generated from the route list."""

from __future__ import annotations

import re
from typing import Any

from nexus import __version__

_ERROR = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def build_document(routes: tuple[Any, ...]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if route.page:
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", route.rule)
        for method in route.methods:
            operation: dict[str, Any] = {
                "operationId": route.endpoint if len(route.methods) == 1 else f"{route.endpoint}_{method.lower()}",
                "summary": route.summary,
                "tags": [route.tag] if route.tag else [],
                "responses": {"200": {"description": "OK"}, "default": _ERROR},
            }
            if route.websocket:
                operation["description"] = "WebSocket: connect with an Upgrade request; messages are JSON."
                operation["responses"] = {"101": {"description": "Switching Protocols"}, "default": _ERROR}
            params = [dict(p) for p in route.params]
            params += [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                       for name in re.findall(r"{([^}]+)}", path)]
            if params:
                operation["parameters"] = params
            if route.body is not None:
                operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": route.body}}}
            for status, description in route.responses.items():
                operation["responses"][status] = {"description": description}
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Nexus", "version": __version__,
                 "description": "Control Nexus and the OpenCode server it supervises."},
        "paths": paths,
        "components": {"schemas": {"Error": {
            "type": "object",
            "properties": {"error": {"type": "object", "properties": {
                "status": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"},
                "details": {"type": "object"}}, "required": ["status", "code", "message"]}},
            "required": ["error"]}}},
    }
