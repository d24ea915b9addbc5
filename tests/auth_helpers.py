"""Secrets and helpers shared by the security tests.

Every secret a test uses is listed in SECRETS (API keys are added as they are created), so
that the end-of-session check in conftest.py can prove none of them reached a log file or
any file in a data dir.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OWNER = "owner"
PASSWORD = "plinth-Harbor-velvet-42"
NEW_PASSWORD = "quartz-Meadow-lantern-77"
TUNNEL_TOKEN = "eyJhIjoiZmFrZS1hY2NvdW50IiwidCI6ImZha2UtdHVubmVsIiwicyI6InRlc3Qtc2VjcmV0LTEyMzQ1In0"
SECRETS: set[str] = {PASSWORD, NEW_PASSWORD, TUNNEL_TOKEN}


def remember(secret: str) -> str:
    SECRETS.add(secret)
    return secret


def make_owner(rt: Any, password: str = PASSWORD, *, login_locally: bool = True) -> None:
    """An owner account, setup finished: what a real install looks like after the wizard."""
    from nexus.auth.repository import AuthRepository

    rt.settings.update({"security.require_login_locally": login_locally})
    # Preconfigured test runtimes have an owner already (tests/conftest.py), with PASSWORD.
    rt.auth.set_owner(OWNER, password, current_password=PASSWORD if rt.auth.has_owner() else None)
    AuthRepository(rt.db).save_setup_progress("done", time.time())


def login(client: Any, password: str = PASSWORD, **headers: str) -> str:
    """Sign a Flask test client in; returns the session's CSRF token."""
    page = client.get("/api/auth/session", headers=headers)
    token = page.json["csrf_token"]
    res = client.post("/api/auth/login", json={"username": OWNER, "password": password},
                      headers={"X-CSRF-Token": token, **headers})
    assert res.status_code == 200, res.json
    return res.json["csrf_token"]


@dataclass
class Scan:
    hits: list[str]


def files_containing_secrets(root: Path) -> list[str]:
    hits = []
    encoded = [(s, s.encode()) for s in SECRETS if len(s) >= 6]
    for path in root.rglob("*"):
        try:
            if not path.is_file() or path.stat().st_size > 50 * 1024 * 1024:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        for secret, raw in encoded:
            if raw in data:
                hits.append(f"{path}: contains {secret[:6]}…")
    return hits


def served_address(line: str) -> tuple[str, str]:
    """(base URL, setup token) from `nexus serve`'s "running at http://…/?token=…" line; the
    token is "" once an owner exists (the address is then printed bare)."""
    address = line.split("running at ")[1].split()[0]
    base, _, token = address.partition("/?token=")
    if token:
        remember(token)
    return base, token


def open_with_setup_token(http: Any, token: str) -> Any:
    """A real HTTP client (httpx) signed in by the first-run token exchange, carrying the CSRF
    token its session needs for changes."""
    res = http.get("/api/auth/session", params={"token": token})
    assert res.status_code == 200, res.text
    http.headers["X-CSRF-Token"] = res.json()["csrf_token"]
    return http


def cookie_header(http: Any) -> dict[str, str]:
    """The Cookie header an httpx client would send: for WebSocket clients that keep no jar."""
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in http.cookies.items())}


def with_setup_token(client: Any, rt: Any, **headers: str) -> None:
    """A Flask test client that did the first run's token exchange (`nexus serve` prints the
    address with it): until an owner exists, nothing else answers."""
    res = client.get("/api/auth/session", query_string={"token": rt.auth.setup_token()}, headers=headers)
    client.environ_base["HTTP_X_CSRF_TOKEN"] = res.json["csrf_token"]
