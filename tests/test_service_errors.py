"""One error model: services raise ServiceError subclasses, one Flask handler answers them.

The views do not translate; these tests raise each service's own error through a real app
(and through real routes) and check the one JSON shape, and that people get a page."""

from __future__ import annotations

import pytest

from nexus.agents.service import AgentError
from nexus.analytics.days import AnalyticsRangeError
from nexus.auth.service import AuthError
from nexus.chat.engines.base import EngineError
from nexus.chat.queue import QueueError
from nexus.chat.service import ChatError
from nexus.errors import ServiceError
from nexus.projects.folders import ProjectError
from nexus.secrets import SecretStoreError
from nexus.servers.registry import ServerRegistryError
from nexus.settings import SettingsError
from nexus.setup import SetupError
from nexus.tunnel import TunnelError
from nexus.ui.errors import ApiError
from nexus.workspace.confine import PathEscapeError, Workspace
from nexus.workspace.files import FileError
from nexus.workspace.terminals import TerminalError

CASES = [
    (ChatError("No such session.", 404, "not_found", session="s_1"), 404, "not_found", {"session": "s_1"}),
    (EngineError("OpenCode did not answer."), 502, "engine_error", None),
    (AgentError("Fix the fields.", 422, "invalid_agent", fields={"name": "Give it a name."}), 422,
     "invalid_agent", {"fields": {"name": "Give it a name."}}),
    (AuthError(429, "Too fast.", "rate_limited", retry_after=3), 429, "rate_limited", {"retry_after": 3}),
    (SetupError(422, "Choose a password.", "weak_password", fields={"password": "too short"}), 422,
     "weak_password", {"fields": {"password": "too short"}}),
    (QueueError("Queue full.", 409, "queue_full"), 409, "queue_full", None),
    (ProjectError("Relative.", code="relative_path"), 400, "relative_path", None),
    (ServerRegistryError("No such server.", 404, "unknown_server"), 404, "unknown_server", None),
    (FileError("No such file.", "not_found", 404), 404, "not_found", None),
    (TerminalError("No such terminal.", "no_terminal", 404), 404, "no_terminal", None),
    (AnalyticsRangeError("start must be a date."), 400, "bad_parameter", None),
    (SecretStoreError("The keyring refused."), 500, "secret_store_failed", None),
    (TunnelError("Remote access is off."), 503, "tunnel_unavailable", None),
    (SettingsError({"general.theme": "not a choice"}), 422, "invalid_settings",
     {"fields": {"general.theme": "not a choice"}}),
    (ApiError(400, "Bad input.", "bad_request", field="x"), 400, "bad_request", {"field": "x"}),
]


@pytest.fixture
def raising_app(app):
    """The real app with one extra route (under /api and not) raising whatever is in `box["error"]`."""
    box: dict[str, Exception] = {}

    def boom() -> None:
        raise box["error"]

    app.add_url_rule("/api/test-raise", "test_raise_api", boom)
    app.add_url_rule("/test-raise", "test_raise_page", boom)
    return app, box


@pytest.mark.parametrize("error, status, code, details", CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_every_service_error_is_one_json_shape(raising_app, error, status, code, details) -> None:
    app, box = raising_app
    assert isinstance(error, ServiceError)
    box["error"] = error
    res = app.test_client().get("/api/test-raise")
    assert res.status_code == status and res.is_json
    body = res.json["error"]
    assert body["status"] == status and body["code"] == code and body["message"] == error.message
    assert body.get("details") == details


def test_a_page_gets_an_html_page_with_the_status(raising_app) -> None:
    app, box = raising_app
    box["error"] = ChatError("That session was deleted.", 404, "not_found")
    res = app.test_client().get("/test-raise", headers={"Accept": "text/html"})
    assert res.status_code == 404 and res.mimetype == "text/html"
    assert "That session was deleted." in res.get_data(as_text=True)
    box["error"] = ApiError(403, "Not here.", "refused")  # a view's own error stays JSON
    res = app.test_client().get("/test-raise", headers={"Accept": "text/html"})
    assert res.status_code == 403 and res.is_json


def test_a_path_escape_says_why_in_logs_but_not_where_the_workspace_is(tmp_path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    with pytest.raises(PathEscapeError) as caught:
        Workspace(root).resolve("../secret")
    assert str(root) in str(caught.value)  # for the log and the agent's tools
    assert caught.value.message == "That path is outside the session's workspace."
    assert (caught.value.status, caught.value.code) == (403, "path_escape")
    assert isinstance(caught.value, ValueError)  # callers catching ValueError still do


def test_real_routes_answer_service_errors_without_translation(client) -> None:
    res = client.get("/api/sessions/s_unknown")  # ChatError
    assert res.status_code == 404 and res.json["error"] == {"status": 404, "code": "not_found",
                                                             "message": "No such session."}
    res = client.get("/api/analytics?start=yesterday")  # AnalyticsRangeError
    assert res.status_code == 400 and res.json["error"]["code"] == "bad_parameter"
    assert "yesterday" in res.json["error"]["message"]
    res = client.post("/api/agent-configs", json={"name": ""})  # AgentError with its fields
    assert res.status_code == 422 and res.json["error"]["code"] == "invalid_agent"
    assert set(res.json["error"]["details"]["fields"]) >= {"name"}
    assert client.get("/api/agent-configs").json["agents"] == []  # and nothing was made
