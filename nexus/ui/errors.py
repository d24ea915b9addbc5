"""Errors as JSON for the API (never an HTML error page), plain pages for people."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str = "error", **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.details = details


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
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.message, exc.code, **exc.details)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "_")
        message = exc.description or exc.name
        if status == 413:
            message = f"The request is larger than the {app.config['MAX_CONTENT_LENGTH'] // 1024} KB this server accepts."
        if _wants_json():
            response = error_response(status, message, code)
            if status == 405 and getattr(exc, "valid_methods", None):
                response.headers["Allow"] = ", ".join(exc.valid_methods)
            return response
        return render_template("error.html", status=status, title=exc.name, message=message), status

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return http_error(InternalServerError("Something went wrong inside Nexus; the log has the details."))
