"""The API against its own OpenAPI document (schemathesis): generated requests, signed in with an
API key, against a real Nexus on a loopback port. 0 server errors, 0 answers the document does
not describe (status, media type, body). Bounded: a few examples per operation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from nexus.ui.openapi import build_document
from nexus.ui.routes import ROUTES

# Never generated: endless event streams and WebSockets (no request/answer to check), and what
# would start or stop real programs on this machine (OpenCode, cloudflared).
SKIPPED = {"stream_sse", "chat_stream_sse", "logs_stream_sse", "server_start", "server_stop", "server_restart",
           "tunnel_start"}
DOCUMENT = build_document(ROUTES)
for _path, _ops in list(DOCUMENT["paths"].items()):
    for _method, _op in list(_ops.items()):
        if _op["operationId"] in SKIPPED or "WebSocket" in _op.get("description", ""):
            del _ops[_method]
    if not _ops:
        del DOCUMENT["paths"][_path]

schema = schemathesis.openapi.from_dict(DOCUMENT)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


pytestmark = pytest.mark.opencode


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, opencode_bin: str,
           fake_llm) -> Iterator[tuple[str, dict[str, str]]]:
    """A set-up Nexus running the real OpenCode (fake model), with an owner (local sign-in on)
    and an API key with every scope."""
    from nexus.auth.repository import AuthRepository
    from nexus.runtime import Runtime
    from nexus.settings import is_injection_name
    from nexus.ui import create_app
    from nexus.ui.http_server import WebServer
    from tests.auth_helpers import OWNER, PASSWORD, remember
    from tests.chat_helpers import wait_for_opencode
    from tests.conftest import CHEAP_ARGON2, _rg_dir
    from tests.fakes.fake_llm import opencode_env

    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("contract")
        patch.setenv("NEXUS_HOME", str(home))
        patch.setattr("nexus.secrets.store.keyring_usable", lambda backend=None: backend is not None)
        rt = Runtime.open(home / "data", console_log=False)
        env = opencode_env(fake_llm.base_url, str(home / "opencode-state"), _rg_dir())
        rt.settings.update({**CHEAP_ARGON2, "server.autostart": True, "server.binary": opencode_bin,
                            "server.workspace": str(home / "workspace"),
                            "server.env": {k: v for k, v in env.items() if not is_injection_name(k)}})
        rt.auth.set_owner(OWNER, PASSWORD)
        AuthRepository(rt.db).save_setup_progress("done", time.time())
        _, key = rt.auth.create_key("contract", scopes=["chat", "approve", "admin"])
        server = WebServer(create_app(rt), "127.0.0.1", 0).start()
        rt.start()
        try:
            wait_for_opencode(rt)
            yield server.url, {"Authorization": f"Bearer {remember(key)}"}
        finally:
            server.stop()
            rt.stop()


def test_the_document_names_its_auth_schemes_and_every_success() -> None:
    full = build_document(ROUTES)
    assert set(full["components"]["securitySchemes"]) == {"apiKey", "session", "csrf"}
    for path, ops in full["paths"].items():
        for method, op in ops.items():
            successes = [s for s in op["responses"] if s.startswith(("1", "2"))]
            assert successes, (method, path)
            assert op["security"] and op["x-nexus-scope"] in ("read", "chat", "approve", "admin", "owner")
    assert full["paths"]["/healthz"]["get"]["security"] == [{}]
    assert {"apiKey": []} not in full["paths"]["/api/auth/keys"]["post"]["security"], "keys never manage keys"
    assert full["paths"]["/api/sessions"]["post"]["responses"]["201"]["content"]["application/json"]


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_document(case, served) -> None:
    url, bearer = served
    case.call_and_validate(base_url=url, headers=bearer, checks=CHECKS, timeout=30)


def test_the_contract_ran_against_nexus(served) -> None:
    """The generated run above reached the real server (not a wall of refusals): a sample."""
    import httpx2

    url, bearer = served
    with httpx2.Client(base_url=url, headers=bearer, timeout=10, trust_env=False) as http:
        assert http.get("/api/settings").status_code == 200
        assert http.get("/api/sessions").status_code == 200
    assert Path(__file__).name.startswith("test_")
