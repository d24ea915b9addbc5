import json

import pytest
from sqlalchemy import insert

from nexus.bus import EventBus
from nexus.settings import Settings, SettingsError
from nexus.settings_repository import SettingsRepository
from nexus.store import Database
from nexus.store.database import sqlite_url
from nexus.store.schema import settings as settings_table

DATABASES = ("sqlite", "postgres")  # the repositories behind these tests run on both stores


@pytest.fixture
def db(tmp_path):
    database = Database.open(sqlite_url(tmp_path / "n.db"))
    yield database
    database.close()


def test_defaults_then_update_persists_and_notifies(db) -> None:
    bus = EventBus()
    settings = Settings(SettingsRepository(db), bus)
    assert settings["restart.max_attempts"] == 5
    with bus.subscribe(["settings.changed"]) as sub:
        settings.update({"restart.max_attempts": 3, "restart.initial_delay": 2})
        event = sub.get(timeout=1)
    assert event is not None and event.data["keys"] == ["restart.initial_delay", "restart.max_attempts"]
    reloaded = Settings(SettingsRepository(db))
    assert reloaded["restart.max_attempts"] == 3
    assert reloaded["restart.initial_delay"] == 2.0


def test_invalid_update_changes_nothing_and_names_each_problem(db) -> None:
    settings = Settings(SettingsRepository(db))
    with pytest.raises(SettingsError) as err:
        settings.update({"restart.max_attempts": 2, "restart.factor": 0.5, "server.autostart": "yes",
                         "no.such": 1, "server.url": "ftp://x"})
    assert set(err.value.errors) == {"restart.factor", "server.autostart", "no.such", "server.url"}
    assert "at least 1" in err.value.errors["restart.factor"]
    assert settings["restart.max_attempts"] == 5, "valid keys in a bad request are not applied either"


def test_secret_looking_environment_variables_are_refused(db) -> None:
    settings = Settings(SettingsRepository(db))
    with pytest.raises(SettingsError, match="looks like a secret"):
        settings.update({"server.env": {"ANTHROPIC_API_KEY": "sk-ant-xyz"}})
    settings.update({"server.env": {"OPENCODE_DISABLE_AUTOUPDATE": "1"}})
    assert settings["server.env"] == {"OPENCODE_DISABLE_AUTOUPDATE": "1"}


def test_a_corrupt_stored_value_falls_back_to_default_and_is_kept(db) -> None:
    repo = SettingsRepository(db)
    with db.engine.begin() as conn:
        conn.execute(insert(settings_table), [{"key": "restart.max_attempts", "value": "{not json", "updated_at": 0},
                                              {"key": "restart.factor", "value": json.dumps("fast"), "updated_at": 0}])
    settings = Settings(repo)
    assert settings["restart.max_attempts"] == 5
    assert settings["restart.factor"] == 2.0
    assert repo.load_raw()["restart.max_attempts"] == "{not json", "the bad row is not overwritten"


def test_reset_returns_to_default(db) -> None:
    settings = Settings(SettingsRepository(db))
    settings.update({"logs.level": "DEBUG"})
    settings.reset(["logs.level"])
    assert settings["logs.level"] == "INFO"
    assert Settings(SettingsRepository(db))["logs.level"] == "INFO"
