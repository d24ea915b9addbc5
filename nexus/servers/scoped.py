"""An OpenCode client bound to one project folder.

OpenCode serves every folder from one process: each instance-scoped call names its folder
with the `directory` query parameter. Nexus wraps the server's client once per session, so
every call for that session (prompt, abort, permissions, messages, terminals) names the
session's folder and none can forget it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote


class DirectoryClient:
    def __init__(self, client: Any, directory: str | None) -> None:
        self.inner = client
        self.directory = directory
        self.base_url = client.base_url
        self.counters = client.counters

    def _scoped(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        if self.directory:
            params = dict(kwargs.get("params") or {})
            params.setdefault("directory", self.directory)
            kwargs["params"] = params
        return kwargs

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.inner.request(method, path, **self._scoped(kwargs))

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.inner.json(method, path, **self._scoped(kwargs))

    @contextlib.contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[Any]:
        with self.inner.stream(method, path, **self._scoped(kwargs)) as response:
            yield response

    def websocket(self, path: str) -> Any:
        if self.directory:
            path += ("&" if "?" in path else "?") + "directory=" + quote(self.directory, safe="")
        return self.inner.websocket(path)
