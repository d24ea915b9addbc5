"""The secret store: OS keyring when usable, else the encrypted file store; never plain text."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend

from nexus.logs.redaction import redact
from nexus.secrets import SecretStore, SecretStoreError
from nexus.secrets.store import keyring_usable
from tests.auth_helpers import TUNNEL_TOKEN


class MemoryKeyring(KeyringBackend):
    priority = 5  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.values.pop((service, username), None)


def test_file_store_is_encrypted_and_owner_only(tmp_path: Path) -> None:
    store = SecretStore.open(tmp_path)
    assert store.kind == "file" and "file store" in store.label
    store.set("tunnel.token", TUNNEL_TOKEN)
    assert store.get("tunnel.token") == TUNNEL_TOKEN
    for name in ("secrets.enc", "secrets.key"):
        path = tmp_path / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert TUNNEL_TOKEN.encode() not in path.read_bytes()
    reopened = SecretStore.open(tmp_path)
    assert reopened.get("tunnel.token") == TUNNEL_TOKEN
    reopened.delete("tunnel.token")
    assert reopened.get("tunnel.token") is None


def test_file_store_with_a_foreign_key_says_so(tmp_path: Path) -> None:
    store = SecretStore.open(tmp_path)
    store.set("a", "some-secret-value")
    (tmp_path / "secrets.key").write_bytes(b"A" * 43 + b"=")
    with pytest.raises(SecretStoreError, match="cannot be decrypted"):
        SecretStore.open(tmp_path).get("a")


def test_keyring_is_used_when_usable_and_namespaced_per_data_dir(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    assert keyring_usable(backend)
    one = SecretStore.open(tmp_path / "one", keyring_backend=backend)
    two = SecretStore.open(tmp_path / "two", keyring_backend=backend)
    assert one.kind == "keyring" and "OS keyring" in one.label
    one.set("provider.anthropic", "sk-ant-test-000000000000000")
    assert two.get("provider.anthropic") is None
    assert not list(tmp_path.rglob("secrets.*")), "nothing on disk with a keyring"


def test_fail_keyring_is_not_usable() -> None:
    from keyring.backends import fail

    assert not keyring_usable(fail.Keyring())


def test_secrets_read_are_redacted_from_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = SecretStore.open(tmp_path)
    store.set("x", "plain-looking-value-991")
    assert redact("the value plain-looking-value-991 leaked") == "the value [REDACTED] leaked"


def test_empty_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SecretStoreError):
        SecretStore.open(tmp_path).set("x", "")
