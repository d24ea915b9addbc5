"""The sign-in, setup and security pages, and the desktop window's sign-in link."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import redirect, render_template, request

from nexus.auth.service import AuthError
from nexus.ui.context import runtime
from nexus.ui.security import caller, set_session_cookie


def safe_next(target: str | None) -> str:
    """Only a path on this site: `//evil.example` and `https://...` would be an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def login_page() -> Any:
    rt, who = runtime(), caller()
    if who.session is not None:
        return redirect(safe_next(request.args.get("next")), code=303)
    if not rt.auth.has_owner() and who.via == "local":
        return redirect("/setup", code=303)
    return render_template("auth/login.html", next=safe_next(request.args.get("next")),
                           locked_for=round(rt.auth.lockout_remaining(who.ip, who.via)), via=who.via,
                           username=rt.auth.username() or "")


def setup_page() -> Any:
    return render_template("setup/wizard.html")


def security_page() -> Any:
    return render_template("auth/security.html")


def desktop_signin() -> Any:
    """`/auth/desktop?token=...`: the one-time token the launcher gave the window (loopback only)."""
    rt, who = runtime(), caller()
    if who.via != "local":
        return render_template("error.html", status=403, title="Not here",
                               message="This sign-in link only works in the Nexus window on its own computer."), 403
    try:
        session = rt.auth.redeem_desktop_token(request.args.get("token", ""), ip=who.ip,
                                               client=request.headers.get("User-Agent", "")[:200])
    except AuthError as exc:
        return render_template("error.html", status=exc.status, title="Sign-in link expired",
                               message=exc.message), exc.status
    return set_session_cookie(redirect(safe_next(request.args.get("next")), code=303), session)
