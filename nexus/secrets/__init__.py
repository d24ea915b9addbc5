"""Secrets (provider API keys, the tunnel token, the OpenCode server password) in one small store."""

from nexus.secrets.store import FileSecretBackend, KeyringSecretBackend, SecretStore, SecretStoreError

__all__ = ["FileSecretBackend", "KeyringSecretBackend", "SecretStore", "SecretStoreError"]
