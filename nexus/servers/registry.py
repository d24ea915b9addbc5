"""Every OpenCode server Nexus knows: the one it spawns ("local", the Supervisor) and the
ones attached by URL. Adding or changing an attached server checks it first (reachable,
password right), so a bad URL or password changes nothing.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from nexus.bus import EventBus
from nexus.errors import ServiceError
from nexus.secrets import SecretStore
from nexus.server.client import OpenCodeClient, OpenCodeError
from nexus.server.supervisor import NotRunning, Supervisor
from nexus.servers.attached import SERVERS_TOPIC, AttachedServer
from nexus.servers.repository import ServerRepository
from nexus.servers.scoped import DirectoryClient
from nexus.settings import Settings

log = logging.getLogger(__name__)

LOCAL = "local"
LOCAL_NAME = "This computer"


class ServerRegistryError(ServiceError):
    def __init__(self, message: str, status: int = 400, code: str = "bad_request") -> None:
        super().__init__(message, status, code)


def password_secret(server_id: str) -> str:
    return f"opencode.server.{server_id}.password"


class ServerRegistry:
    def __init__(self, supervisor: Supervisor, repo: ServerRepository, secrets: SecretStore, settings: Settings,
                 bus: EventBus) -> None:
        self.supervisor = supervisor
        self._repo = repo
        self._secrets = secrets
        self._settings = settings
        self._bus = bus
        self._lock = threading.Lock()
        self._attached: dict[str, AttachedServer] = {}
        self._started = False
        # Told about every attached server that comes or goes (the runtime gives each an engine).
        self.on_added: list[Callable[[AttachedServer], None]] = []
        self.on_removed: list[Callable[[str], None]] = []

    # ----- lifecycle ------------------------------------------------------------------------

    def load(self) -> None:
        """Build the attached servers from the store (nothing is contacted yet)."""
        for row in self._repo.all():
            self._register(self._build(row["id"], row["name"], row["url"], row["username"]))

    def start(self) -> None:
        self._started = True
        for server in self.attached():
            server.start()

    def stop(self) -> None:
        self._started = False
        for server in self.attached():
            server.stop()

    # ----- reading --------------------------------------------------------------------------

    def attached(self) -> list[AttachedServer]:
        with self._lock:
            return list(self._attached.values())

    def ids(self) -> list[str]:
        return [LOCAL, *(s.id for s in self.attached())]

    def get(self, server_id: str | None) -> Any:
        """The server object (the Supervisor for "local"); ServerRegistryError 404 when unknown."""
        if server_id in (None, "", LOCAL):
            return self.supervisor
        with self._lock:
            server = self._attached.get(server_id)
        if server is None:
            raise ServerRegistryError(f"There is no OpenCode server {server_id!r}.", 404, "unknown_server")
        return server

    def name_of(self, server_id: str | None) -> str:
        try:
            server = self.get(server_id)
        except ServerRegistryError:
            return server_id or LOCAL
        return LOCAL_NAME if server is self.supervisor else server.name

    def state_of(self, server_id: str | None) -> str:
        try:
            server = self.get(server_id)
        except ServerRegistryError:
            return "removed"
        state = server.state
        return state.value if hasattr(state, "value") else str(state)

    def reachable(self, server_id: str | None) -> bool:
        return self.state_of(server_id) in ("running", "unhealthy")

    def client(self, server_id: str | None, directory: str | None = None) -> DirectoryClient | None:
        """A client for that server bound to `directory`, or None while it is not reachable."""
        try:
            return DirectoryClient(self.get(server_id).client, directory)
        except (NotRunning, ServerRegistryError):
            return None

    def list(self) -> list[dict[str, Any]]:
        local = {"id": LOCAL, "name": LOCAL_NAME, "kind": "spawned", "local": True, **self.supervisor.status()}
        local["state"] = self.state_of(LOCAL)
        out = [local]
        for server in self.attached():
            out.append({**server.status(), "has_password": bool(self._secrets.get(password_secret(server.id)))})
        return out

    # ----- changing -------------------------------------------------------------------------

    def add(self, *, name: Any, url: Any, password: Any = None, username: Any = None) -> dict[str, Any]:
        name, url = _clean_name(name), _clean_url(url)
        username = _clean_username(username)
        password = _clean_password(password)
        self._unique(name)
        _probe(url, password, username)
        server_id = f"srv_{uuid.uuid4().hex[:12]}"
        if password:
            self._secrets.set(password_secret(server_id), password)
        self._repo.add(server_id, name, url, username)
        server = self._register(self._build(server_id, name, url, username))
        if self._started:
            server.start()
        self._bus.publish(SERVERS_TOPIC, server=server_id, state=server.state, change="added")
        return server.status()

    def update(self, server_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        server = self.get(server_id)
        if server is self.supervisor:
            raise ServerRegistryError("The server Nexus starts itself is set on the Settings page.", 400,
                                      "local_server")
        if not {"name", "url", "password", "username"} & set(changes):
            raise ServerRegistryError("Send a new name, url, username or password.")
        name = _clean_name(changes["name"]) if "name" in changes else server.name
        url = _clean_url(changes["url"]) if "url" in changes else server.url
        username = _clean_username(changes.get("username")) if "username" in changes else server.username
        if "password" in changes:
            password = _clean_password(changes["password"])
        else:
            password = self._secrets.get(password_secret(server_id))
        if name != server.name:
            self._unique(name)
        if {"url", "password", "username"} & set(changes):
            _probe(url, password, username)
        self._repo.update(server_id, name=name, url=url, username=username)
        if "password" in changes:
            if password:
                self._secrets.set(password_secret(server_id), password)
            else:
                self._secrets.delete(password_secret(server_id))
        # Rebuilt, so its client and event stream use the new address and credentials.
        self._forget(server_id)
        fresh = self._register(self._build(server_id, name, url, username))
        if self._started:
            fresh.start()
        self._bus.publish(SERVERS_TOPIC, server=server_id, state=fresh.state, change="updated")
        return fresh.status()

    def remove(self, server_id: str) -> None:
        server = self.get(server_id)
        if server is self.supervisor:
            raise ServerRegistryError("The server Nexus starts itself cannot be removed.", 400, "local_server")
        self._forget(server_id)
        self._repo.remove(server_id)
        self._secrets.delete(password_secret(server_id))
        self._bus.publish(SERVERS_TOPIC, server=server_id, state="removed", change="removed")

    def _unique(self, name: str) -> None:
        if name == LOCAL_NAME or any(s.name == name for s in self.attached()):
            raise ServerRegistryError(f"A server is already called {name!r}.", 409, "duplicate_name")

    def _build(self, server_id: str, name: str, url: str, username: str) -> AttachedServer:
        return AttachedServer(server_id, name, url, username=username,
                              password=lambda: self._secrets.get(password_secret(server_id)), bus=self._bus,
                              interval=lambda: float(self._settings["server.health_interval"]),
                              timeout=lambda: float(self._settings["server.health_timeout"]),
                              failures=lambda: int(self._settings["server.health_failures"]))

    def _register(self, server: AttachedServer) -> AttachedServer:
        with self._lock:
            self._attached[server.id] = server
        for callback in self.on_added:
            callback(server)
        return server

    def _forget(self, server_id: str) -> None:
        with self._lock:
            server = self._attached.pop(server_id, None)
        for callback in self.on_removed:
            callback(server_id)
        if server is not None:
            server.stop()


def _clean_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ServerRegistryError("Give the server a name.", 400, "bad_name")
    value = value.strip()
    if len(value) > 100 or any(ord(c) < 32 for c in value):
        raise ServerRegistryError("A server name is at most 100 printable characters.", 400, "bad_name")
    return value


def _clean_url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ServerRegistryError("Give the server's URL, like http://127.0.0.1:4096.", 400, "bad_url")
    value = value.strip().rstrip("/")
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or len(value) > 500:
        raise ServerRegistryError("The URL must start with http:// or https:// and name a host.", 400, "bad_url")
    if parsed.username or parsed.password or parsed.query or parsed.fragment:
        raise ServerRegistryError("Put the password in the password field, not in the URL.", 400, "bad_url")
    return value


def _clean_username(value: Any) -> str:
    if value in (None, ""):
        return "opencode"
    if not isinstance(value, str) or not re.fullmatch(r"[\w.@-]{1,100}", value):
        raise ServerRegistryError("The user name is letters, digits, '.', '@', '_' or '-'.", 400, "bad_username")
    return value


def _clean_password(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 500:
        raise ServerRegistryError("The password must be text (at most 500 characters).", 400, "bad_password")
    return value


def _probe(url: str, password: str | None, username: str) -> None:
    """Reachable, really OpenCode, and the password is right; otherwise a clear 4xx."""
    client = OpenCodeClient(url, password=password, username=username, timeout=5.0)
    try:
        client.health(timeout=5.0)
        client.json("GET", "/path", timeout=5.0)
    except OpenCodeError as exc:
        if exc.status == 401:
            message = ("The server asks for a password: give it." if not password
                       else "Wrong password for this server.")
            raise ServerRegistryError(message, 400, "wrong_password") from exc
        if exc.status is None:
            raise ServerRegistryError(f"Could not reach an OpenCode server at {url}.", 400,
                                      "server_unreachable") from exc
        raise ServerRegistryError(f"{url} did not answer like an OpenCode server ({exc}).", 400,
                                  "not_opencode") from exc
    finally:
        client.close()
