"""The request guard and the response headers every route gets.

Who is asking (`g.caller`):
- `via` is "tunnel" when the request came through cloudflared (it adds `Cf-Connecting-IP`
  and friends) or names a Host that is not loopback; otherwise "local".
- a signed-in browser (session cookie), a script (`Authorization: Bearer nxk_...`), or
  nobody.

Rules, in order:
1. The Host must be loopback or the tunnel's public name (DNS rebinding gets 421).
2. Until an owner exists, nothing but /healthz, static files and the desktop window's
   exchange answers without the setup token `nexus serve` prints (`?token=` on any GET,
   this computer only, swapped for a session cookie).
3. Static files, /healthz and the sign-in routes are open; everything else through the
   tunnel needs sign-in, always. Locally it needs sign-in once an owner password exists,
   unless the owner turned `security.require_login_locally` off. Pages redirect to /login,
   the API answers 401. Until the setup wizard is finished, pages lead to it; it only runs
   from this computer.
3b. API keys: the route's declared scope (Route.needs) must be among the key's scopes; a key
   not made usable remotely is refused through the tunnel; "owner" routes never take a key
   and need a browser session whose password was typed in the last 10 minutes.
4. State changes need the CSRF token (header `X-CSRF-Token`) that goes with the session
   cookie (or with the anonymous `nexus_csrf` cookie before sign-in). Scripts using an API
   key carry no ambient credential, so they need none. WebSocket handshakes and state
   changes must come from Nexus's own Origin.
5. Every write route is rate limited per client; sign-in has its own, lower limit.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from flask import Flask, Response, g, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from nexus.auth.remote_shell import APPROVE_LOCALLY, approval_refused, remote_shell_allowed
from nexus.auth.repository import KeyRecord
from nexus.auth.scopes import OWNER, key_allows
from nexus.auth.service import AuthError, Session, csrf_for
from nexus.chat.service import ChatError
from nexus.ui.errors import ApiError, error_response
from nexus.ui.static_files import asset_store

AnyResponse = TypeVar("AnyResponse", bound=BaseResponse)  # a cookie setter hands back what it was given

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
FORWARDING_HEADERS = ("Cf-Connecting-Ip", "Cf-Ray", "X-Forwarded-For", "X-Forwarded-Host", "Forwarded", "X-Real-Ip")
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# Cookies ignore ports: every server on 127.0.0.1 would get a plain `nexus_session`. The
# names carry the port Nexus listens on (the tunnel forwards to it too), so another local
# server sees cookies that are not its own, and two Nexus instances never mix theirs.
SESSION_COOKIE = "nexus_session"
ANON_COOKIE = "nexus_csrf"
CSRF_HEADER = "X-CSRF-Token"

# Open without sign-in: what it takes to sign in, and nothing else.
PUBLIC_ENDPOINTS = {"static", "login_page", "auth_login", "auth_session", "auth_logout", "desktop_signin"}
# The second launch's hand-over carries its own credential (the instance lock's token).
PUBLIC_ENDPOINTS |= {"desktop_focus"}
# The installable app: browsers fetch the manifest without cookies; the offline page holds no data.
PUBLIC_ENDPOINTS |= {"manifest", "service_worker", "offline_page"}
# Liveness answers everyone, with nothing beyond "ok".
PUBLIC_ENDPOINTS |= {"healthz"}
# The wizard: before setup is finished it is open to this computer only (there is no password yet).
SETUP_ENDPOINTS = {"setup_page", "setup_state", "setup_submit", "auth_password_strength"}
SETUP_ENDPOINTS |= {"opencode_install_state", "opencode_install_start"}  # npm install from the wizard
# Before an owner exists: liveness, static files and the desktop window's exchange only.
FIRST_RUN_OPEN = {"static", "healthz", "desktop_signin", "desktop_focus",
                  "manifest", "service_worker", "offline_page"}  # hold no data
FIRST_RUN_PAGE = ("<!doctype html><html lang=en><meta charset=utf-8><title>Nexus: open the setup link</title>"
                  # Its own icon from the open static files, so the browser asks no /favicon.ico (a 401).
                  "<link rel=icon href=/static/img/icon.svg type=image/svg+xml>"
                  "<link rel=stylesheet href=/static/css/app.css><main class=narrow><h1>Open the setup link</h1>"
                  "<p>Nexus is not set up yet. Open the address <code>nexus serve</code> printed in its terminal "
                  "(it ends in <code>?token=…</code>), or start Nexus's own window.</p></main></html>")
# Scripts with an API key may not manage security itself: that needs the owner in a browser.
SESSION_ONLY_PREFIXES: tuple[str, ...] = ("/api/auth/", "/api/setup", "/api/tunnel/token", "/api/audit", "/api/server/password")
SESSION_ONLY_PREFIXES += ("/api/anthropic/key",)

# style-src also admits base.html's one inline <style> (the first paint's colours) by its hash.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' " + asset_store().critical_csp + "; img-src 'self' data:; font-src 'self'; "
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


@dataclass
class Caller:
    via: str  # local, tunnel
    ip: str
    session: Session | None = None
    key: KeyRecord | None = None
    anon: str | None = None  # the anonymous CSRF cookie value
    new_anon: bool = False
    new_session: bool = False  # a session made during this request (its cookie goes out with the answer)

    @property
    def signed_in(self) -> bool:
        return self.session is not None or self.key is not None

    def csrf_token(self) -> str:
        if self.session is not None:
            return self.session.csrf
        if self.anon is None:
            self.anon, self.new_anon = secrets.token_urlsafe(32), True
        return csrf_for(self.anon)


def host_name(host_header: str) -> str:
    return (urlsplit(f"//{host_header}").hostname or "").lower()


def _forwarded() -> bool:
    return any(h in request.headers for h in FORWARDING_HEADERS)


def is_local_request() -> bool:
    if _forwarded() or host_name(request.host) not in LOOPBACK_HOSTS:
        return False
    return (request.remote_addr or "") in {"127.0.0.1", "::1"} or (request.remote_addr or "").startswith("127.")


def client_ip() -> str:
    # Nexus listens on loopback only, so the peer is this computer (cloudflared included):
    # the forwarded address it reports is the real client.
    forwarded = request.headers.get("Cf-Connecting-Ip") or request.headers.get("X-Forwarded-For", "").split(",")[0]
    return (forwarded.strip() or request.remote_addr or "")[:64]


def is_https() -> bool:
    if request.is_secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https":
        return True
    try:
        return json.loads(request.headers.get("Cf-Visitor", "{}")).get("scheme") == "https"
    except (ValueError, AttributeError):
        return False


def origin_allowed() -> bool:
    """A missing Origin is a non-browser client (curl, scripts); a present one must be ours."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.netloc.lower() == request.host.lower() and parts.scheme in ("http", "https")


def caller() -> Caller:
    return g.caller


def cookie_name(base: str) -> str:
    return f"{base}_{request.environ.get('SERVER_PORT', '0')}"


def set_session_cookie(response: AnyResponse, session: Session) -> AnyResponse:
    response.set_cookie(cookie_name(SESSION_COOKIE), session.token,
                        max_age=max(0, int(session.record.expires_at - time.time())),
                        path="/", httponly=True, samesite="Lax", secure=is_https())
    return response


def clear_session_cookie(response: AnyResponse) -> AnyResponse:
    response.delete_cookie(cookie_name(SESSION_COOKIE), path="/", httponly=True, samesite="Lax", secure=is_https())
    return response


def _runtime() -> Any:
    from nexus.ui.context import runtime

    return runtime()


def _browser_like() -> bool:
    """Browsers say where a request comes from; curl and scripts send none of these."""
    return any(h in request.headers for h in ("Origin", "Sec-Fetch-Site", "Cookie", "Referer"))


def _wants_page(page_endpoints: set[str]) -> bool:
    accept = request.accept_mimetypes  # a browser prefers HTML; scripts send */* or JSON
    return request.endpoint in page_endpoints or (
        not request.path.startswith("/api") and accept["text/html"] > accept["application/json"]
        and request.method == "GET" and "Upgrade" not in request.headers)


def _login_redirect() -> BaseResponse:
    target = request.full_path.rstrip("?") if request.query_string else request.path
    return redirect(f"/login?next={quote(target, safe='/')}", code=303)


def _key_refusal(key: KeyRecord, local: bool, needs: str) -> Response | None:
    if request.path.startswith(SESSION_ONLY_PREFIXES) or needs == OWNER:
        return error_response(403, "API keys cannot manage security; sign in with the owner password in a "
                                   "browser.", "needs_session")
    if not local and not key.remote:
        return error_response(403, "This API key works on this computer only; create one marked “usable "
                                   "remotely” to use it through the tunnel.", "key_local_only")
    if not key_allows(key.scopes, needs):
        return error_response(403, f"This API key lacks the “{needs}” scope (it has: {', '.join(key.scopes)}). "
                                   "Create a key with that scope.", "key_scope", needed=needs)
    return None


def _confirmation_required(what: str) -> Response:
    return error_response(403, f"Confirm your password to change {what}: security changes need the owner, "
                               "present.", "password_confirmation_required")


def require_owner_present(what: str) -> None:
    """For views whose body decides (settings): a browser sign-in with the password typed in the
    last minutes, never an API key."""
    rt, who = _runtime(), caller()
    if who.key is not None:
        raise ApiError(403, f"API keys cannot change {what}; sign in with the owner password in a browser.",
                       "needs_session")
    if rt.auth.has_owner() and not rt.auth.recently_confirmed(who.session):
        raise ApiError(403, f"Confirm your password to change {what}: security changes need the owner, present.",
                       "password_confirmation_required")


def refuse_remote_shell_approval(session_id: str, permission_id: str, reply: str) -> None:
    """Through the tunnel, approving the agent's shell command or file change follows the
    remote-shell policy (nexus/auth/remote_shell.py); denying always works."""
    rt, who = _runtime(), caller()
    if who.via == "local" or reply == "reject" or remote_shell_allowed(rt.settings):
        return
    try:
        permission = rt.chat.pending_permission(session_id, permission_id)
    except ChatError:  # an unknown session is the view's own 404
        return
    if approval_refused(rt.settings, who.via, permission, reply):
        raise ApiError(403, APPROVE_LOCALLY, "approve_locally")


def _first_run_guard(rt: Any, who: Caller, local: bool, endpoint: str,
                     page_endpoints: set[str]) -> BaseResponse | None:
    """Before an owner exists only the holder of the setup token (or the desktop window's
    one-time token) gets anything; `?token=` on any page is the exchange."""
    presented = request.args.get("token")
    if presented and request.method == "GET" and endpoint not in FIRST_RUN_OPEN:
        if not local:
            return error_response(403, "Nexus is set up from the computer it runs on.", "setup_local_only")
        try:
            who.session = rt.auth.redeem_setup_token(presented, ip=who.ip,
                                                     client=request.headers.get("User-Agent", "")[:200])
        except AuthError as exc:
            return error_response(exc.status, exc.message, exc.code)
        who.new_session = True
        if _wants_page(page_endpoints):  # drop the token from the address bar (and from history)
            return redirect(request.path, code=303)
        return None
    if endpoint in FIRST_RUN_OPEN or who.signed_in:
        return None
    if _wants_page(page_endpoints):
        return Response(FIRST_RUN_PAGE, status=401, mimetype="text/html")
    return error_response(401, "Nexus is not set up yet: open the address `nexus serve` printed (it ends in "
                               "?token=…), or the Nexus window.", "setup_token_required")


def install_security(app: Flask) -> None:
    from nexus.ui.routes import ROUTES

    page_endpoints = {r.endpoint for r in ROUTES if r.page}
    route_needs = {r.endpoint: r.needs for r in ROUTES}

    @app.before_request
    def guard() -> BaseResponse | None:
        rt = _runtime()
        host = host_name(request.host)
        if host not in LOOPBACK_HOSTS and host not in rt.tunnel.allowed_hosts():
            return error_response(421, "Nexus does not answer to this address. Open it at http://127.0.0.1 on "
                                       "this computer, or at its tunnel address.", "unknown_host")
        local = is_local_request()
        g.caller = who = Caller("local" if local else "tunnel", client_ip())
        who.anon = request.cookies.get(cookie_name(ANON_COOKIE)) or None
        endpoint = request.endpoint or ""
        if endpoint == "static":
            return None

        bearer = request.headers.get("Authorization", "")
        needs = route_needs.get(endpoint, "admin")
        if bearer.lower().startswith("bearer "):
            who.key = rt.auth.key_for(bearer[7:].strip(), ip=who.ip, via=who.via)
            if who.key is None:
                return error_response(401, "This API key is not valid (unknown or revoked).", "bad_api_key")
            refused: BaseResponse | None = _key_refusal(who.key, local, needs)
            if refused is not None:
                return refused
        else:
            who.session = rt.auth.session(request.cookies.get(cookie_name(SESSION_COOKIE)))
            if who.session is not None and who.session.record.kind == "setup" and not local:
                who.session = None  # the setup token's session is for this computer only

        if not rt.auth.has_owner():
            not_yet = _first_run_guard(rt, who, local, endpoint, page_endpoints)
            if not_yet is not None:
                return not_yet
        setup_done = rt.setup.completed
        if endpoint in SETUP_ENDPOINTS and not setup_done and not local:
            return error_response(403, "Nexus is set up from the computer it runs on.", "setup_local_only")
        if endpoint not in PUBLIC_ENDPOINTS and not who.signed_in:
            needs_login = not local or (rt.auth.has_owner() and rt.settings["security.require_login_locally"])
            if needs_login:
                if _wants_page(page_endpoints):
                    return _login_redirect()
                return error_response(401, "Sign in first.", "login_required")
        if not setup_done and local and endpoint in page_endpoints and endpoint not in SETUP_ENDPOINTS \
                and endpoint not in PUBLIC_ENDPOINTS:
            return redirect("/setup", code=303)

        websocket = request.headers.get("Upgrade", "").lower() == "websocket"
        if (request.method in STATE_CHANGING or websocket) and not origin_allowed():
            return error_response(403, "This request came from another web site and was refused.", "bad_origin")
        if request.method in STATE_CHANGING:
            if who.key is None and (who.session is not None or _browser_like() or not local):
                presented = request.headers.get(CSRF_HEADER, "")
                if not presented and request.mimetype == "application/x-www-form-urlencoded":
                    presented = request.form.get("csrf_token", "")
                expected = who.session.csrf if who.session else (csrf_for(who.anon) if who.anon else None)
                if not presented or not expected or not hmac.compare_digest(presented, expected):
                    return error_response(403, "This change was refused: the page is out of date or the request "
                                               "did not come from Nexus. Reload the page and try again.",
                                          "csrf_failed")
            client = f"key:{who.key.id}" if who.key else f"ip:{who.ip}"
            wait = rt.auth.write_wait(client)
            if wait:
                response = error_response(429, f"Too many changes in a minute. Try again in {int(wait) + 1} s.",
                                          "rate_limited", retry_after=int(wait) + 1)
                response.headers["Retry-After"] = str(int(wait) + 1)
                return response
        if needs == OWNER and rt.auth.has_owner() and not rt.auth.recently_confirmed(who.session):
            return _confirmation_required("this")  # after Origin and CSRF: a forged request learns nothing
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if is_https():
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.path.startswith("/api") or response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        who = g.get("caller")
        if who is not None and who.new_session and who.session is not None:
            set_session_cookie(response, who.session)
        if who is not None and who.new_anon and who.anon:
            response.set_cookie(cookie_name(ANON_COOKIE), who.anon, path="/", httponly=True, samesite="Strict",
                                secure=is_https())
        return response

    @app.context_processor
    def security_context() -> dict[str, Any]:
        who = g.get("caller")
        return {"csrf_token": (who.csrf_token if who else (lambda: "")),
                "signed_in": bool(who and who.session is not None),
                # the chat page shows "approve on this computer" instead of the buttons
                "remote_shell_off": bool(who and who.via != "local" and not remote_shell_allowed(_runtime().settings))}
