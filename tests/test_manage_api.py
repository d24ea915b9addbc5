"""The REST additions behind the manage pages: session list filters, settings reset, navigation."""

from __future__ import annotations

from nexus.ui.navigation import NAV
from tests.analytics_data import insert_known_usage, utc


def titles(client, query: str) -> list[str]:
    response = client.get(f"/api/sessions?{query}")
    assert response.status_code == 200, response.get_json()
    return [s["title"] for s in response.get_json()["sessions"]]


def test_session_list_filters(runtime, client) -> None:
    insert_known_usage(runtime.chat.repo)
    assert titles(client, "state=all") == ["Session s5", "Session s2", "Session s1", "Session s4"]
    assert titles(client, "state=deleted") == ["Session s3"]
    assert titles(client, "state=all&agent=plan") == ["Session s2"]
    assert titles(client, "state=all&model=fake/m-a") == ["Session s1", "Session s4"]
    assert titles(client, f"state=all&created_from={utc(10, 0)}&created_to={utc(11, 0)}") == \
        ["Session s2", "Session s1"]
    assert titles(client, "state=all&q=listed") == ["Session s1"]
    assert titles(client, "state=all&limit=2&offset=2") == ["Session s1", "Session s4"]
    facets = client.get("/api/sessions?state=all&facets=1").get_json()["facets"]
    assert facets == {"agents": ["build", "plan"], "models": ["fake/m-a", "fake/m-b"]}
    assert "facets" not in client.get("/api/sessions").get_json()


def test_settings_reset_puts_the_default_back(runtime, client) -> None:
    runtime.settings.update({"general.theme": "dark", "server.health_failures": 9})
    response = client.post("/api/settings/reset", json={"keys": ["general.theme"]})
    assert response.status_code == 200 and response.get_json()["values"]["general.theme"] == "system"
    assert runtime.settings["server.health_failures"] == 9
    response = client.post("/api/settings/reset", json={"keys": ["general.theme", "no.such"]})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["fields"] == {"no.such": "no such setting"}
    assert client.post("/api/settings/reset", json={"keys": "general.theme"}).status_code == 400


def test_settings_reset_from_a_browser_needs_the_csrf_header(app) -> None:
    browser = app.test_client()
    response = browser.post("/api/settings/reset", json={"keys": ["general.theme"]},
                            headers={"Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "csrf_failed"


def test_theme_is_on_every_page_before_paint(runtime, client) -> None:
    runtime.settings.update({"general.theme": "dark"})
    page = client.get("/sessions").get_data(as_text=True)
    assert '<html lang="en" data-theme="dark">' in page
    assert '<meta name="color-scheme" content="dark">' in page
    runtime.settings.update({"general.theme": "light"})
    assert '<html lang="en" data-theme="light">' in client.get("/analytics").get_data(as_text=True)


def test_navigation_entries_and_current_page() -> None:
    current = {e.label: e for e in NAV}
    assert list(current) == ["Chat", "Sessions", "Agents", "Dashboard", "Logs", "Analytics", "Settings"]
    assert current["Chat"].is_current("/") and current["Chat"].is_current("/s/abc")
    assert not current["Chat"].is_current("/sessions")
    assert not current["Settings"].is_current("/security")  # /security marks the account bar's own link


def test_sessions_started_with_defaults_show_the_agent_and_model_their_replies_used(runtime, client) -> None:
    repo = runtime.chat.repo
    repo.create_session({"id": "d1", "engine": "opencode", "engine_ref": "r-d1", "title": "Defaults",
                         "agent": None, "model": None, "created_at": 100.0, "updated_at": 100.0})
    repo.save(None, None, [
        {"id": "u1", "session_id": "d1", "role": "user", "created_at": 101.0},
        {"id": "a1", "session_id": "d1", "role": "assistant", "created_at": 102.0, "agent": "plan", "model": "fake/old"},
        {"id": "a2", "session_id": "d1", "role": "assistant", "created_at": 103.0, "agent": "build",
         "model": "fake/m-a"},
    ], [])
    repo.create_session({"id": "d2", "engine": "opencode", "engine_ref": "r-d2", "title": "Chosen",
                         "agent": "plan", "model": "fake/m-b", "created_at": 100.0, "updated_at": 100.0})
    rows = {s["id"]: s for s in client.get("/api/sessions?state=active").json["sessions"]}
    assert (rows["d1"]["agent_used"], rows["d1"]["model_used"]) == ("build", "fake/m-a")
    assert rows["d1"]["agent"] is None  # what it was started with stays as it was
    assert "agent_used" not in rows["d2"] and rows["d2"]["model"] == "fake/m-b"
