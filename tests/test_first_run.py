"""A newcomer's first run: OpenCode found where npm's own config puts it, messages that name
the real place to fix things, and no navigation before setup is done."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nexus.server.binary import INSTALL_HINT, find_opencode, npmrc_prefix


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # nothing on PATH
    for name in ("NPM_CONFIG_PREFIX", "npm_config_prefix", "NPM_CONFIG_USERCONFIG"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_opencode_is_found_under_the_npm_prefix_set_in_npmrc(home: Path) -> None:
    prefix = home / "tools" / "npm"
    (prefix / "bin").mkdir(parents=True)
    binary = prefix / "bin" / "opencode"
    binary.write_text("#!/bin/sh\necho 1.2.3\n")
    binary.chmod(0o755)
    (home / ".npmrc").write_text("registry=https://registry.npmjs.org/\nprefix = ${HOME}/tools/npm\n")
    assert npmrc_prefix() == str(prefix)
    found, where = find_opencode()
    if Path("/usr/local/bin/opencode").exists() or Path("/usr/bin/opencode").exists():
        pytest.skip("a system-wide opencode is found first on this machine")
    assert (found, where) == (str(binary), str(prefix / "bin"))

    from nexus.doctor import _opencode

    check = _opencode("", "")
    assert check.ok and str(binary) in check.detail


def test_no_npmrc_or_no_prefix_is_no_prefix(home: Path) -> None:
    assert npmrc_prefix() is None
    (home / ".npmrc").write_text("registry=https://registry.npmjs.org/\n")
    assert npmrc_prefix() is None


def test_the_install_hint_names_the_command_and_the_settings_page_without_markdown() -> None:
    assert "npm install -g opencode-ai" in INSTALL_HINT
    assert "`" not in INSTALL_HINT and "Settings" in INSTALL_HINT


@pytest.mark.fresh_install
def test_navigation_is_hidden_until_setup_is_done(runtime, client) -> None:
    from tests.auth_helpers import with_setup_token

    with_setup_token(client, runtime, Host="127.0.0.1")
    page = client.get("/setup", headers={"Host": "127.0.0.1"}).get_data(as_text=True)
    assert 'id="mainnav"' not in page and 'href="/settings"' not in page
    from nexus.auth.repository import AuthRepository

    AuthRepository(runtime.db).save_setup_progress("done", 1.0)
    page = client.get("/sessions", headers={"Host": "127.0.0.1"}).get_data(as_text=True)
    assert 'id="mainnav"' in page and 'href="/settings"' in page
    assert os.environ.get("HOME")  # the fixture left the environment alone
