"""One small store for secrets: the OS keyring when this machine has a usable one, else an
encrypted file in the data dir.

The keyring is the right home (macOS Keychain, Windows Credential Locker, Secret Service or
KWallet on Linux). Headless Linux and CI have none; there the store falls back to a
Fernet-encrypted file with its key in a separate owner-only file. That fallback is called
the "file store" everywhere the user can see it, because it is only as safe as the data
dir's permissions: it keeps secrets out of plain files and logs, not away from someone who
can read the user's files. Secrets are never written in plain text.

Every secret read or written is registered with the log redaction filter, so it cannot
appear in a log line afterwards.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from nexus.errors import ServiceError
from nexus.logs.redaction import register_secret

log = logging.getLogger(__name__)

KEY_FILE = "secrets.key"
DATA_FILE = "secrets.enc"


class SecretStoreError(ServiceError, RuntimeError):
    """A secret could not be read or written; the message says why."""

    status, code = 500, "secret_store_failed"


class SecretBackend(Protocol):
    kind: str
    label: str

    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: str) -> None: ...
    def delete(self, name: str) -> None: ...


def keyring_usable(backend: Any = None) -> bool:
    """True for a real OS keyring: the `fail` backend and an empty chainer have priority < 1."""
    try:
        import keyring
        from keyring.backends import fail

        backend = backend or keyring.get_keyring()
        if isinstance(backend, fail.Keyring):
            return False
        if type(backend).__name__ == "ChainerBackend" and not getattr(backend, "backends", None):
            return False
        return float(getattr(backend, "priority", 0)) >= 1
    except Exception:  # keyring backends fail in many platform-specific ways
        return False


class KeyringSecretBackend:
    kind = "keyring"

    def __init__(self, service: str, backend: Any = None) -> None:
        import keyring

        self._keyring = backend or keyring.get_keyring()
        self._service = service
        self.label = f"OS keyring ({type(self._keyring).__name__})"

    def get(self, name: str) -> str | None:
        try:
            return self._keyring.get_password(self._service, name)
        except Exception as exc:
            raise SecretStoreError(f"The OS keyring could not be read: {exc}") from exc

    def set(self, name: str, value: str) -> None:
        try:
            self._keyring.set_password(self._service, name, value)
        except Exception as exc:
            raise SecretStoreError(f"The OS keyring refused to store the secret: {exc}") from exc

    def delete(self, name: str) -> None:
        try:
            self._keyring.delete_password(self._service, name)
        except Exception:
            pass  # not there: nothing to delete


class FileSecretBackend:
    """Fernet-encrypted JSON in `secrets.enc`, key in `secrets.key` (0600), both in the data dir."""

    kind = "file"
    label = "file store (encrypted in the data dir; only as safe as its permissions)"

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._lock = threading.Lock()

    @property
    def key_path(self) -> Path:
        return self._folder / KEY_FILE

    @property
    def data_path(self) -> Path:
        return self._folder / DATA_FILE

    def _fernet(self) -> Any:
        from cryptography.fernet import Fernet

        if not self.key_path.exists():
            _write_private(self.key_path, Fernet.generate_key())
        return Fernet(self.key_path.read_bytes().strip())

    def _load(self) -> dict[str, str]:
        if not self.data_path.exists():
            return {}
        from cryptography.fernet import InvalidToken

        try:
            return json.loads(self._fernet().decrypt(self.data_path.read_bytes()))
        except InvalidToken as exc:
            raise SecretStoreError(
                f"The file store {self.data_path} cannot be decrypted with {self.key_path} (was the key file "
                "replaced?). Move both files aside and enter the secrets again.") from exc

    def _save(self, values: dict[str, str]) -> None:
        _write_private(self.data_path, self._fernet().encrypt(json.dumps(values).encode()))

    def get(self, name: str) -> str | None:
        with self._lock:
            return self._load().get(name)

    def set(self, name: str, value: str) -> None:
        with self._lock:
            values = self._load()
            values[name] = value
            self._save(values)

    def delete(self, name: str) -> None:
        with self._lock:
            values = self._load()
            if values.pop(name, None) is not None:
                self._save(values)


def _write_private(path: Path, data: bytes) -> None:
    """Write atomically, readable by the owner only from the first byte on."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    try:
        os.chmod(path, 0o600)
    except OSError:
        pass


class SecretStore:
    """get/set/delete secrets by name (e.g. "tunnel.token", "provider.anthropic")."""

    def __init__(self, backend: SecretBackend | None = None, *,
                 choose: Callable[[], SecretBackend] | None = None) -> None:
        if backend is None and choose is None:
            raise ValueError("a backend, or a way to choose one")
        self._backend = backend
        self._choose = choose
        self._choose_lock = threading.Lock()

    @property
    def backend(self) -> SecretBackend:
        # Chosen on first use: loading keyring and probing its backends costs ~0.1 s, which
        # start-up does not need to pay.
        if self._backend is None:
            with self._choose_lock:
                if self._backend is None:
                    assert self._choose is not None
                    self._backend = self._choose()
        return self._backend

    @classmethod
    def open(cls, data_dir: Path, *, keyring_backend: Any = None, prefer_file: bool = False) -> SecretStore:
        def choose() -> SecretBackend:
            if not prefer_file and keyring_usable(keyring_backend):
                # One keyring service per data dir: two Nexus installs (or test runs) never share secrets.
                digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
                return KeyringSecretBackend(f"nexus-{digest}", keyring_backend)
            log.info("no usable OS keyring; secrets go to Nexus's encrypted file store in the data dir")
            return FileSecretBackend(data_dir)

        return cls(choose=choose)

    @property
    def kind(self) -> str:
        return self.backend.kind

    @property
    def label(self) -> str:
        return self.backend.label

    def get(self, name: str) -> str | None:
        value = self.backend.get(name)
        register_secret(value)
        return value

    def set(self, name: str, value: str) -> None:
        if not value:
            raise SecretStoreError("An empty secret cannot be stored; delete it instead.")
        register_secret(value)
        self.backend.set(name, value)

    def delete(self, name: str) -> None:
        self.backend.delete(name)

    def has(self, name: str) -> bool:
        return self.get(name) is not None

    def describe(self) -> dict[str, str]:
        return {"kind": self.kind, "label": self.label}
