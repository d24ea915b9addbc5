import json
import logging

import pytest

from nexus.logs import configure_logging, register_secret, shutdown_logging
from nexus.logs.redaction import MASK, redact


@pytest.mark.parametrize("text, secret", [
    ("login with password=hunter2!", "hunter2!"),
    ('{"api_key": "abc123def", "max_tokens": 5}', "abc123def"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9"),
    ("GET http://opencode:s3cr3t-pw@127.0.0.1:4096/session", "s3cr3t-pw"),
    ("Cookie: nexus_session=abcdef123456; theme=dark", "abcdef123456"),
    ("using key sk-ant-api03-abcdefghijklmnopqrstuv", "sk-ant-api03-abcdefghijklmnopqrstuv"),
    ("TUNNEL_TOKEN=eyJhIjoiMTIzNDU2Nzg5MCIsInQiOiJhYmMifQ==", "eyJhIjoiMTIzNDU2Nzg5MCIsInQiOiJhYmMifQ"),
    ("Set-Cookie: sid=zzz-very-secret; HttpOnly", "zzz-very-secret"),
    ("token: ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ123456", "ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ123456"),
])
def test_secret_shapes_are_masked(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert MASK in cleaned


def test_ordinary_text_is_left_alone() -> None:
    text = "session ses_123 used tokens=12 max_tokens=4096; author: bob; 5 passed"
    assert redact(text) == text


def test_registered_values_are_masked_wherever_they_appear() -> None:
    register_secret("Zq9-plain-looking-value")
    assert "Zq9-plain-looking-value" not in redact("spawned with xZq9-plain-looking-valuex in env")


def test_log_file_never_gets_the_secret(tmp_path) -> None:
    log_file = tmp_path / "nexus.jsonl"
    configure_logging(log_file, console=False)
    try:
        log = logging.getLogger("nexus.test")
        register_secret("registered-secret-42")
        log.info("password is %s", "pa55word-in-args")
        log.warning("env has %s", "registered-secret-42")
        log.info("structured", extra={"fields": {"api_key": "in-fields-key", "count": 3}})
        try:
            raise RuntimeError("failed with token=in-exception-token")
        except RuntimeError:
            log.exception("boom")
        logging.getLogger("werkzeug").error("Authorization: Basic b3BlbmNvZGU6c2VjcmV0")
    finally:
        shutdown_logging()
    content = log_file.read_text()
    for secret in ("pa55word-in-args", "registered-secret-42", "in-fields-key", "in-exception-token",
                   "b3BlbmNvZGU6c2VjcmV0"):
        assert secret not in content
    lines = [json.loads(line) for line in content.splitlines()]
    assert len(lines) == 5
    assert lines[2]["fields"] == {"api_key": MASK, "count": 3}
    assert "RuntimeError" in lines[3]["exception"]


def test_junk_bearer_tokens_register_nothing_and_revoked_keys_are_forgotten(runtime, app) -> None:
    """The attack: 5,000 made-up bearer tokens (all 401) must not grow the secret registry (it
    used to hold every one of them and slowed every log line 12x)."""
    import secrets
    import time

    from tests.auth_helpers import login, remember

    registry = runtime.redaction
    assert registry is not None
    before = len(registry)
    client = app.test_client()
    for n in range(5000):
        token = f"nxk_{secrets.token_urlsafe(24)}" if n % 2 else secrets.token_urlsafe(24)
        res = client.get("/api/server", headers={"Authorization": f"Bearer {token}"})
        assert res.status_code == 401
    assert len(registry) == before, "nothing a stranger sent was registered"
    start = time.perf_counter()
    for _ in range(200):
        redact("an ordinary log line with nothing secret in it at all, 200 times")
    assert time.perf_counter() - start < 0.5

    # A real key is registered when verified, and forgotten when revoked.
    browser = app.test_client()
    csrf = login(browser)
    created = browser.post("/api/auth/keys", json={"name": "ci"}, headers={"X-CSRF-Token": csrf}).json
    key = remember(created["key"])
    assert client.get("/api/server", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert key in registry
    assert browser.delete(f"/api/auth/keys/{created['id']}", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert key not in registry


def test_the_registry_is_bounded() -> None:
    from nexus.logs.redaction import SecretRegistry

    registry = SecretRegistry(max_entries=100)
    for n in range(1000):
        registry.register(f"generated-secret-{n:05d}", label=f"session:{n}")
    assert len(registry) == 100
    assert "generated-secret-00999" in registry and "generated-secret-00000" not in registry, "oldest go first"
    registry.forget_label("session:999")
    assert "generated-secret-00999" not in registry and len(registry) == 99
