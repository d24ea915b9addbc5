"""Errors as JSON for the API (never an HTML error page), plain pages for people."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from nexus.errors import ServiceError
from nexus.store.space import storage_problem

log = logging.getLogger(__name__)
_storage_logged: dict[str, float] = {}


def _log_storage_once(code: str, exc: Exception) -> None:
    """One line a minute per kind, not a traceback per request while the disk stays full."""
    now = time.monotonic()
    if now - _storage_logged.get(code, -1e9) >= 60:
        _storage_logged[code] = now
        log.error("cannot save (%s): %s", code, exc.__class__.__name__ + ": " + str(exc).splitlines()[0][:200])


class ApiError(ServiceError):
    """An error a view itself finds (bad input, a refusal); always answered as JSON."""

    def __init__(self, status: int, message: str, code: str = "error", **details: Any) -> None:
        super().__init__(message, status, code, **details)


def error_response(status: int, message: str, code: str, **details: Any) -> Response:
    body: dict[str, Any] = {"error": {"status": status, "code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    response = jsonify(body)
    response.status_code = status
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api") or request.path == "/healthz" or (
        request.accept_mimetypes.best == "application/json")


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError) -> Any:
        """Every service error (ChatError, AuthError, ...) and ApiError: the views do not translate."""
        if isinstance(exc, ApiError) or _wants_json():
            return error_response(exc.status, exc.message, exc.code, **exc.details)
        return render_template("error.html", status=exc.status, title="Cannot do that",
                               message=exc.message), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "_")
        message = exc.description or exc.name
        if status == 413:
            message = f"The request is larger than the {app.config['MAX_CONTENT_LENGTH'] // 1024} KB this server accepts."
        if _wants_json():
            response = error_response(status, message, code)
            valid_methods = getattr(exc, "valid_methods", None)  # set on MethodNotAllowed only
            if status == 405 and valid_methods:
                response.headers["Allow"] = ", ".join(valid_methods)
            return response
        return render_template("error.html", status=status, title=exc.name, message=message), status

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        problem = storage_problem(exc)
        if problem is not None:  # a full disk or read-only store: said plainly, logged once per kind
            _log_storage_once(problem.code, exc)
            if _wants_json():
                return error_response(problem.status, problem.message, problem.code)
            return render_template("error.html", status=problem.status, title="Cannot save",
                                   message=problem.message), problem.status
        log.exception("unhandled error in %s %s", request.method, request.path)
        return http_error(InternalServerError("Something went wrong inside Nexus; the log has the details."))
