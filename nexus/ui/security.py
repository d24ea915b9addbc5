"""Request checks and response headers that every route gets.

Until sign-in exists, Nexus serves only this computer: requests that come through a
proxy or tunnel (forwarding headers, or a Host that is not loopback) are refused, which
also defeats DNS rebinding. State changes from a browser must come from Nexus's own
origin, and JSON bodies force a CORS preflight that foreign pages cannot pass.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request

from nexus.ui.errors import error_response

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
FORWARDING_HEADERS = ("Cf-Connecting-Ip", "Cf-Ray", "X-Forwarded-For", "X-Forwarded-Host", "Forwarded", "X-Real-Ip")
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def host_name(host_header: str) -> str:
    return (urlsplit(f"//{host_header}").hostname or "").lower()


def is_local_request() -> bool:
    if any(h in request.headers for h in FORWARDING_HEADERS):
        return False
    if host_name(request.host) not in LOOPBACK_HOSTS:
        return False
    return (request.remote_addr or "") in {"127.0.0.1", "::1"} or (request.remote_addr or "").startswith("127.")


def origin_allowed() -> bool:
    """A missing Origin is a non-browser client (curl, scripts); a present one must be ours."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.netloc.lower() == request.host.lower() and parts.scheme in ("http", "https")


def install_security(app: Flask) -> None:
    @app.before_request
    def guard() -> Response | None:
        if not is_local_request():
            return error_response(401, "Remote access needs sign-in, which this version of Nexus does not "
                                       "offer yet. Open Nexus on the computer it runs on.", "remote_not_allowed")
        if (request.method in STATE_CHANGING or request.headers.get("Upgrade", "").lower() == "websocket") \
                and not origin_allowed():
            return error_response(403, "This request came from another web site and was refused.", "bad_origin")
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/api") and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response
