"""REST for the Cloudflare tunnel: status, start/stop, the QR code, the named tunnel's token."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from nexus.tunnel import TOKEN_SECRET, TunnelError
from nexus.ui.context import json_body, runtime
from nexus.ui.errors import ApiError


def tunnel_status() -> Any:
    rt = runtime()
    return jsonify({**rt.tunnel.status(), "secrets": rt.secrets.describe()})


def tunnel_start() -> Any:
    rt = runtime()
    body = json_body()
    mode = body.get("mode")
    if mode is not None and mode not in ("quick", "named"):
        raise ApiError(400, "mode must be quick or named.", "bad_request", field="mode")
    try:
        if mode is not None:
            rt.settings.update({"tunnel.mode": mode})
        return jsonify(rt.tunnel.start())
    except TunnelError as exc:
        raise ApiError(503, str(exc), "tunnel_unavailable", tunnel=rt.tunnel.status()) from None


def tunnel_stop() -> Any:
    rt = runtime()
    rt.tunnel.stop()
    return jsonify(rt.tunnel.status())


def tunnel_qr() -> Any:
    svg = runtime().tunnel.qr_svg()
    if svg is None:
        raise ApiError(404, "The tunnel is not connected, so there is no public address to show.", "no_tunnel_url")
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


def tunnel_token_set() -> Any:
    body = json_body()
    token = body.get("token")
    if not isinstance(token, str) or len(token.strip()) < 20 or any(c.isspace() for c in token.strip()):
        raise ApiError(422, "Paste the tunnel token from the Cloudflare dashboard (a long text without spaces).",
                       "bad_token", field="token")
    rt = runtime()
    rt.secrets.set(TOKEN_SECRET, token.strip())
    return jsonify({"has_token": True, "store": rt.secrets.describe()})


def tunnel_token_delete() -> Any:
    rt = runtime()
    rt.secrets.delete(TOKEN_SECRET)
    return jsonify({"has_token": False})
