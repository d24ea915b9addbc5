"""The remote-shell policy: one setting (`terminal.remote_enabled`, off by default) decides
whether anything arriving through the tunnel may cause a shell command on this computer:
a terminal, "Run one command", or approving the agent's request to run a command or change
files (both engines). Denying is always allowed: it runs nothing.
"""

from __future__ import annotations

from typing import Any

SETTING = "terminal.remote_enabled"

# Permissions that cannot run anything or change files. Every other kind (bash, edit, write,
# patch, external_directory, task, ones OpenCode adds later) counts as a shell: unknown is unsafe.
HARMLESS_PERMISSIONS = frozenset({"read", "list", "glob", "grep", "webfetch", "websearch", "codesearch",
                                  "todoread", "todowrite", "question", "lsp"})

APPROVE_LOCALLY = ("Approve this on the computer Nexus runs on: through the tunnel the agent may not run commands "
                   "or change files unless the owner allows shell commands from remote devices (Security page, "
                   "setting terminal.remote_enabled). You can still deny it from here.")


def runs_shell(permission: dict[str, Any] | None) -> bool:
    """Whether approving this permission request lets the agent run a command or change files."""
    tool = str((permission or {}).get("tool") or "")
    return tool not in HARMLESS_PERMISSIONS


def remote_shell_allowed(settings: Any) -> bool:
    return bool(settings[SETTING])


def approval_refused(settings: Any, via: str, permission: dict[str, Any] | None, reply: str) -> bool:
    """A remote approval of a shell/edit permission while the policy is off."""
    return via != "local" and reply != "reject" and not remote_shell_allowed(settings) and runs_shell(permission)
