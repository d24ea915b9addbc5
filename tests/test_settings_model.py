"""The typed settings declaration (nexus/settings_model.py) and its pydantic validation: every
key has a default that validates, bad values are refused per key, a change is all or nothing,
and a start whose stored values were already validated does not import pydantic."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nexus.settings import VALIDATED_ROW, Settings, SettingsError
from nexus.settings_model import SPECS, NexusSettings, build
from nexus.settings_repository import SettingsRepository
from nexus.settings_validation import validate
from nexus.store import Database
from nexus.store.database import sqlite_url

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db(tmp_path):
    database = Database.open(sqlite_url(tmp_path / "n.db"))
    yield database
    database.close()


def test_every_setting_has_a_default_that_validates() -> None:
    defaults = {spec.key: spec.default for spec in SPECS}
    clean, errors = validate(defaults)
    assert errors == {}
    assert clean == defaults
    assert len(SPECS) == len(defaults) >= 60, "every key declared once"
    for spec in SPECS:
        group, name = spec.key.split(".")
        assert getattr(getattr(build(defaults), group), name) == spec.default, spec.key


@pytest.mark.parametrize(("key", "value", "message"), [
    ("server.autostart", "yes", "must be true or false"),
    ("server.health_failures", True, "must be a whole number"),
    ("server.health_failures", 2.5, "must be a whole number"),
    ("server.start_timeout", "30", "must be a number"),
    ("server.start_timeout", 1, "must be at least 2"),
    ("server.start_timeout", 601, "must be at most 600"),
    ("logs.max_bytes", 1024**3 + 1, "must be at most 1.07374e+09"),
    ("tunnel.mode", "always", "must be one of off, quick, named"),
    ("server.env", ["A=1"], "must be an object"),
    ("server.env", {"A": 1}, "the value of A must be text"),
    ("server.env", {"GITHUB_TOKEN": "x"}, "looks like a secret"),
    ("server.env", {"LD_PRELOAD": "/tmp/x.so"}, "LD_PRELOAD is refused"),
    ("server.url", "ftp://x", "must be an http:// or https:// URL, or empty"),
    ("tunnel.hostname", "https://nexus.example.com", "must be a host name"),
    ("general.instance_name", "   ", "must be 1 to 60 characters"),
    ("anthropic.base_url", "", "must be an http:// or https:// URL"),
    ("no.such", 1, "no such setting"),
    ("nosuch", 1, "no such setting"),
])
def test_a_bad_value_is_refused_with_a_message_for_its_key(db, key, value, message) -> None:
    settings = Settings(SettingsRepository(db))
    with pytest.raises(SettingsError) as err:
        settings.update({key: value})
    assert list(err.value.errors) == [key]
    assert message in err.value.errors[key]
    assert err.value.status == 422 and err.value.code == "invalid_settings"
    assert err.value.details["fields"] == err.value.errors


def test_good_values_are_kept_in_their_declared_type(db) -> None:
    settings = Settings(SettingsRepository(db))
    settings.update({"server.start_timeout": 45, "server.env": {"OPENCODE_X": "1"}, "tunnel.mode": "quick"})
    current = settings.current
    assert isinstance(current, NexusSettings)
    assert current.server.start_timeout == 45.0 and isinstance(current.server.start_timeout, float)
    assert current.server.env == {"OPENCODE_X": "1"} and current.tunnel.mode == "quick"
    assert settings["server.start_timeout"] == 45.0, "the keyed read still works"
    with pytest.raises(AttributeError):
        current.server.start_timeout = 3  # type: ignore[misc]


def test_a_change_with_one_bad_value_saves_nothing(db) -> None:
    repo = SettingsRepository(db)
    settings = Settings(repo)
    before, rows_before, current_before = settings.all(), repo.load_raw(), settings.current
    with pytest.raises(SettingsError) as err:
        settings.update({"restart.max_attempts": 7, "general.theme": "dark", "security.lockout_failures": 0})
    assert set(err.value.errors) == {"security.lockout_failures"}
    assert settings.all() == before and repo.load_raw() == rows_before
    assert settings.current is current_before
    assert Settings(repo).all() == before


def test_the_settings_api_keeps_its_spec_json() -> None:
    by_key = {spec.key: spec.to_json() for spec in SPECS}
    assert by_key["server.start_timeout"] == {
        "key": "server.start_timeout", "type": "a number", "default": 30.0, "minimum": 2, "maximum": 600,
        "description": "Seconds to wait for OpenCode to come up."}
    assert by_key["tunnel.protocol"]["choices"] == ("auto", "quic", "http2")
    assert by_key["tunnel.protocol"]["type"] == "text"
    assert by_key["server.env"]["type"] == "an object" and by_key["server.env"]["default"] == {}
    assert by_key["server.autostart"]["type"] == "true or false"
    assert by_key["metrics.store_every"]["type"] == "a whole number"


def test_stored_values_validated_once_are_trusted_until_a_row_changes(db) -> None:
    repo = SettingsRepository(db)
    Settings(repo).update({"restart.max_attempts": 3})
    digest = repo.load_raw()[VALIDATED_ROW]
    assert Settings(repo)["restart.max_attempts"] == 3
    # A row edited behind Nexus's back no longer matches the digest: it is validated, and refused.
    repo.save({"restart.max_attempts": "three"})
    reloaded = Settings(repo)
    assert reloaded["restart.max_attempts"] == 5
    assert json.loads(repo.load_raw()["restart.max_attempts"]) == "three", "the bad row is kept"
    assert repo.load_raw()[VALIDATED_ROW] == digest, "no digest is written over a bad row"
    reloaded.reset(["restart.max_attempts"])
    assert Settings(repo)["restart.max_attempts"] == 5


def test_a_start_with_validated_settings_does_not_import_pydantic(tmp_path) -> None:
    url = sqlite_url(tmp_path / "n.db")
    db = Database.open(url)
    try:
        Settings(SettingsRepository(db)).update({"tunnel.mode": "quick", "server.env": {"A": "b"}})
    finally:
        db.close()
    script = textwrap.dedent(f"""
        import sys
        from nexus.settings import Settings
        from nexus.store import Database
        from nexus.settings_repository import SettingsRepository
        db = Database.open({url!r})
        settings = Settings(SettingsRepository(db))
        print(settings.current.tunnel.mode, settings.current.server.env, "pydantic" in sys.modules)
        settings.update({{"tunnel.mode": "off"}})
        print("pydantic" in sys.modules)
        db.close()
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         cwd=ROOT, check=True).stdout.split("\n")
    assert out[0] == "quick {'A': 'b'} False", out
    assert out[1] == "True", "the first change validates with pydantic"


def test_a_row_an_older_nexus_stored_in_another_json_type_is_validated_once(db) -> None:
    repo = SettingsRepository(db)
    repo.save({"restart.initial_delay": 2})  # a whole number for a float setting: valid, read as 2.0
    first = Settings(repo)
    assert first["restart.initial_delay"] == 2.0 and isinstance(first.current.restart.initial_delay, float)
    digest = repo.load_raw()[VALIDATED_ROW]
    Settings(repo).update({"logs.level": "DEBUG"})
    assert repo.load_raw()[VALIDATED_ROW] != digest
    assert json.loads(repo.load_raw()["restart.initial_delay"]) == 2, "the row is left as it was"
    from nexus.settings import _digest

    rows = {k: json.loads(v) for k, v in repo.load_raw().items() if k in {s.key for s in SPECS}}
    assert json.loads(repo.load_raw()[VALIDATED_ROW]) == _digest(rows), "the next start trusts these rows"
