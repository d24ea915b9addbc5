"""The OpenAPI 3.1 document, generated from the route list.

Every operation lists its success response(s) with their media type, the error answer
(`default`, the project's JSON error), and who may call it: the auth schemes below, and the
API-key scope it needs (`x-nexus-scope`; "owner" means never a key). A schemathesis run in
the test suite holds the API to this document.
"""

from __future__ import annotations

import re
from typing import Any

from nexus import __version__
from nexus.ui.security import SESSION_ONLY_PREFIXES  # the browser's own credentials only

_ERROR = {"description": "Error (the message says why)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_MEDIA = re.compile(r"\b(?:application|text|image)/[\w.+-]+")
_JSON = {"application/json": {"schema": {"type": ["object", "array"]}}}

# Open to anybody who can reach Nexus (sign-in itself, and liveness).
_OPEN = {"healthz", "auth_session", "auth_login", "desktop_focus"}

SECURITY_SCHEMES = {
    "apiKey": {"type": "http", "scheme": "bearer", "bearerFormat": "nxk_…",
               "description": "An API key from the Security page. Its scopes (read, chat, approve, admin) decide "
                              "which operations it may call (x-nexus-scope); it works through the tunnel only if "
                              "it was created usable remotely; it never manages security."},
    "session": {"type": "apiKey", "in": "cookie", "name": "nexus_session_PORT",
                "description": "A browser sign-in (the cookie's name ends in the port Nexus listens on). "
                               "State changes also need the csrf header. Operations with x-nexus-scope \"owner\" "
                               "need the password typed in the last 10 minutes (POST /api/auth/confirm)."},
    "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
             "description": "The CSRF token that goes with the session cookie (GET /api/auth/session)."},
}


def _success(route: Any, method: str) -> dict[str, Any]:
    declared = {s: d for s, d in route.responses.items() if s.startswith("2")}
    if not declared:
        declared = {"200": "OK"}
    out: dict[str, Any] = {}
    for status, description in declared.items():
        if status == "204":
            out[status] = {"description": description}
            continue
        media = _MEDIA.findall(description)
        content = {m: {"schema": {}} for m in media} if media else _JSON
        out[status] = {"description": description, "content": content}
    return out


def _security(route: Any) -> list[dict[str, list[str]]]:
    if route.endpoint in _OPEN:
        return [{}]
    browser: dict[str, list[str]] = {"session": [], "csrf": []} if any(m != "GET" for m in route.methods) else {"session": []}
    if route.needs == "owner" or route.rule.startswith(SESSION_ONLY_PREFIXES):
        return [browser]
    return [{"apiKey": []}, browser]


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
                "responses": {**_success(route, method), "default": _ERROR},
                "security": _security(route),
                "x-nexus-scope": route.needs,
            }
            if route.websocket:
                operation["description"] = "WebSocket: connect with an Upgrade request; messages are JSON."
                operation["responses"] = {"101": {"description": "Switching Protocols"}, "default": _ERROR}
            params = [dict(p) for p in route.params]
            params += [{"name": name, "in": "path", "required": True,
                        "schema": {"type": "integer"} if f"<int:{name}>" in route.rule else {"type": "string"}}
                       for name in re.findall(r"{([^}]+)}", path)]
            if params:
                operation["parameters"] = params
            if route.body is not None:
                operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": route.body}}}
            for status, description in route.responses.items():
                if not status.startswith("2"):
                    operation["responses"][status] = {**_ERROR, "description": description}
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Nexus", "version": __version__,
                 "description": "Control Nexus and the OpenCode server it supervises. Until an owner exists, "
                                "nothing but /healthz answers without the setup token `nexus serve` prints."},
        "paths": paths,
        "security": [{"apiKey": []}, {"session": [], "csrf": []}],
        "components": {
            "securitySchemes": SECURITY_SCHEMES,
            "schemas": {"Error": {
                "type": "object",
                "properties": {"error": {"type": "object", "properties": {
                    "status": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"},
                    "details": {"type": "object"}}, "required": ["status", "code", "message"]}},
                "required": ["error"]}},
        },
    }
