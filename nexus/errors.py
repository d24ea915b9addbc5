"""The one error type services raise for a request they cannot do.

A service error carries what the API answers: an HTTP `status`, a short `code`, a `message`
for people and optional `details`. Services stay free of Flask; `nexus/ui/errors.py` has the
one handler that renders every ServiceError as `{"error": {status, code, message, details?}}`.
Subclasses set their usual `status` and `code` as class attributes.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status: int = 400
    code: str = "error"

    def __init__(self, message: str, status: int | None = None, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = details
