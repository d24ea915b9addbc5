"""Opening a real Nexus runtime for a test: the one place that says what a test install looks
like. Tests use the `make_runtime` / `runtime` fixtures (tests/conftest.py), which stop what
they open; module-scoped fixtures and helpers that prepare a data dir for a `python -m nexus`
child call `open_runtime` and stop the runtime themselves."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nexus.runtime import Runtime

# Argon2 parameters that make a password hash take milliseconds: tests sign in often.
CHEAP_ARGON2 = {"security.argon2_time_cost": 1, "security.argon2_memory_kib": 1024, "security.argon2_parallelism": 1}


def open_runtime(data_dir: str | os.PathLike[str], settings: dict[str, Any] | None = None, *,
                 owner: bool = True, setup_done: bool | None = None) -> Runtime:
    """Runtime.open on `data_dir` with cheap Argon2, then `settings`. With `owner` (the default)
    the install has the owner OWNER/PASSWORD (tests/auth_helpers.py), who turned
    `security.require_login_locally` off: this computer is served without sign-in, the tunnel
    needs it. `setup_done` (by default: as `owner`) marks the setup wizard finished; `owner=False`
    alone is a new install as a new user meets it: no owner, nothing answers without the setup
    token. The caller stops the runtime."""
    from nexus.runtime import Runtime

    rt = Runtime.open(data_dir, console_log=False)
    try:
        configure(rt, owner=owner, setup_done=owner if setup_done is None else setup_done)
        if settings:
            rt.settings.update(settings)
    except BaseException:
        rt.stop()
        raise
    return rt


def configure(rt: Runtime, *, owner: bool = True, setup_done: bool = True) -> Runtime:
    """Cheap Argon2 and, as asked, the owner and a finished setup; what is there already stays."""
    from nexus.auth.repository import AuthRepository
    from tests.auth_helpers import OWNER, PASSWORD

    rt.settings.update(CHEAP_ARGON2)
    if owner and not rt.auth.has_owner():
        rt.settings.update({"security.require_login_locally": False})
        rt.auth.set_owner(OWNER, PASSWORD)
    if setup_done and not rt.setup.completed:
        AuthRepository(rt.db).save_setup_progress("done", 1.0)
    return rt


def preconfigure(rt: Runtime) -> Runtime:
    """An opened runtime made a finished test install: cheap Argon2, the owner, setup done."""
    return configure(rt)
