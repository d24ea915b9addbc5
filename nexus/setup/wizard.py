"""The first-run setup wizard's state and rules (the pages only show it).

Steps: welcome, system, server, password, tunnel, done. Each is checked here, saved as
soon as it is accepted, and the step reached is kept in the store, so a crash or a closed
window resumes where the person was. Until the wizard is finished every page leads to it;
after that it can be run again from the security page (the app stays usable meanwhile).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from nexus.auth.repository import AuthRepository
from nexus.auth.service import AuthError, AuthService
from nexus.errors import ServiceError
from nexus.secrets import SecretStore, SecretStoreError
from nexus.settings import SettingsError
from nexus.tunnel.binary import CloudflaredNotFound, cloudflared_version, find_cloudflared
from nexus.tunnel.manager import TOKEN_SECRET

STEPS = ("welcome", "system", "server", "password", "tunnel", "done")


class SetupError(ServiceError):
    def __init__(self, status: int, message: str, code: str, fields: dict[str, str] | None = None,
                 **details: Any) -> None:
        super().__init__(message, status, code, **({"fields": fields} if fields else {}), **details)


class SetupWizard:
    def __init__(self, repo: AuthRepository, settings: Any, auth: AuthService, secrets: SecretStore,
                 data_dir: Path, default_workspace: Path) -> None:
        self._repo = repo
        self._settings = settings
        self._auth = auth
        self._secrets = secrets
        self._data_dir = data_dir
        self._default_workspace = default_workspace

    # --- state ------------------------------------------------------------------------------
    @property
    def completed(self) -> bool:
        progress = self._repo.setup_progress()
        return progress is not None and progress[1] is not None

    @property
    def step(self) -> str:
        progress = self._repo.setup_progress()
        return progress[0] if progress else STEPS[0]

    def state(self) -> dict[str, Any]:
        s = self._settings
        return {
            "step": self.step, "steps": list(STEPS), "completed": self.completed,
            "server": {"binary": s["server.binary"], "workspace": s["server.workspace"] or str(self._default_workspace),
                       "autostart": s["server.autostart"]},
            "owner": {"exists": self._auth.has_owner(), "username": self._auth.username() or _default_username()},
            "tunnel": {"mode": s["tunnel.mode"], "hostname": s["tunnel.hostname"], "protocol": s["tunnel.protocol"],
                       "has_token": self._has_token()},
            "secrets": self._secrets.describe(),
        }

    def _has_token(self) -> bool:
        try:
            return self._secrets.get(TOKEN_SECRET) is not None
        except SecretStoreError:
            return False

    def system_check(self) -> list[dict[str, Any]]:
        from nexus.doctor import run_checks
        from nexus.paths import DataPaths

        wanted = {"OpenCode", "Data dir"}
        checks = [c.to_json() for c in run_checks(self._settings, DataPaths(self._data_dir)) if c.name in wanted]
        workspace = Path(self._settings["server.workspace"] or self._default_workspace).expanduser()
        checks.append({"name": "Workspace", "ok": workspace.is_dir() or not workspace.exists(),
                       "detail": f"{workspace}" + ("" if workspace.exists() else " (will be created)"),
                       "fix": "" if workspace.is_dir() or not workspace.exists() else "Choose a folder.",
                       "required": False})
        checks.append({"name": "Secret store", "ok": self._secrets.kind == "keyring",
                       "detail": self._secrets.label,
                       "fix": "" if self._secrets.kind == "keyring" else
                       "No OS keyring here (usual on headless Linux): secrets go to Nexus's encrypted file store, "
                       "which is only as safe as your data folder's permissions.", "required": False})
        try:
            path, source = find_cloudflared(self._settings["tunnel.binary"], self._data_dir)
            version = cloudflared_version(path)
            checks.append({"name": "cloudflared", "ok": version is not None,
                           "detail": f"{version or 'unknown version'} at {path} (found via {source})",
                           "fix": "" if version else "This file did not run as cloudflared: fix tunnel.binary.",
                           "required": False})
        except CloudflaredNotFound as exc:
            checks.append({"name": "cloudflared", "ok": False, "detail": "not found", "fix": str(exc),
                           "required": False})
        return checks

    # --- steps ------------------------------------------------------------------------------
    def submit(self, step: str, body: dict[str, Any], *, ip: str = "", via: str = "local") -> dict[str, Any]:
        if step not in STEPS:
            raise SetupError(404, f"There is no setup step {step!r}; the steps are {', '.join(STEPS)}.", "no_such_step")
        current = STEPS.index(self.step) if self.step in STEPS else 0
        if STEPS.index(step) > current:
            raise SetupError(409, f"Finish the {self.step} step first.", "step_out_of_order", step=self.step)
        getattr(self, f"_step_{step}")(body, ip, via)
        if step != "done":
            following = STEPS[STEPS.index(step) + 1]
            if STEPS.index(following) > current:
                self._save(following)
        return self.state()

    def restart(self, *, ip: str = "", via: str = "local") -> dict[str, Any]:
        """Run the wizard again (from Settings): completed stays set, so nothing is locked meanwhile."""
        progress = self._repo.setup_progress()
        self._repo.save_setup_progress(STEPS[0], progress[1] if progress else None)
        self._auth.audit.record("setup-restarted", ip=ip, via=via)
        return self.state()

    def _save(self, step: str) -> None:
        progress = self._repo.setup_progress()
        self._repo.save_setup_progress(step, progress[1] if progress else None)

    def _step_welcome(self, body: dict[str, Any], ip: str, via: str) -> None:
        pass

    def _step_system(self, body: dict[str, Any], ip: str, via: str) -> None:
        pass  # informative: nothing found missing blocks setup (OpenCode can be installed later)

    def _step_server(self, body: dict[str, Any], ip: str, via: str) -> None:
        fields: dict[str, str] = {}
        binary = _text(body, "binary")
        workspace = _text(body, "workspace")
        autostart = body.get("autostart", True)
        if binary:
            path = Path(binary).expanduser()
            if not path.is_file():
                fields["binary"] = f"{path} does not exist (leave it empty to let Nexus search for opencode)."
            elif not os.access(path, os.X_OK):
                fields["binary"] = f"{path} is not executable."
        if workspace:
            folder = Path(workspace).expanduser()
            if folder.exists() and not folder.is_dir():
                fields["workspace"] = f"{folder} is a file, not a folder."
            elif not folder.is_absolute():
                fields["workspace"] = "Give the full path of the folder."
        if not isinstance(autostart, bool):
            fields["autostart"] = "must be true or false"
        if fields:
            raise SetupError(422, "Some answers need another look.", "invalid_step", fields)
        if workspace:
            try:
                Path(workspace).expanduser().mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SetupError(422, "The workspace folder cannot be created.", "invalid_step",
                                 {"workspace": f"cannot create it: {exc.strerror or exc}"}) from exc
        default_ws = str(self._default_workspace)
        self._update({"server.binary": str(Path(binary).expanduser()) if binary else "",
                      "server.workspace": "" if workspace in ("", default_ws) else str(Path(workspace).expanduser()),
                      "server.autostart": autostart})

    def _step_password(self, body: dict[str, Any], ip: str, via: str) -> None:
        if self._auth.has_owner() and body.get("keep") is True:
            return  # re-run of the wizard: keep the password
        username = _text(body, "username") or _default_username()
        password = body.get("password")
        if not isinstance(password, str) or not password:
            raise SetupError(422, "Choose a password.", "invalid_step", {"password": "required"})
        if body.get("confirm") is not None and body.get("confirm") != password:
            raise SetupError(422, "The two passwords differ.", "invalid_step", {"confirm": "does not match"})
        current = body.get("current_password") if isinstance(body.get("current_password"), str) else None
        try:
            self._auth.set_owner(username, password, current_password=current, ip=ip, via=via)
        except AuthError as exc:
            field = exc.details.get("field", "password")
            raise SetupError(exc.status, exc.message, exc.code, {field: exc.message},
                             **{k: v for k, v in exc.details.items() if k != "field"}) from exc

    def _step_tunnel(self, body: dict[str, Any], ip: str, via: str) -> None:
        mode = body.get("mode", "off")
        protocol = body.get("protocol", "auto")
        hostname = _text(body, "hostname").lower()
        token = _text(body, "token")
        fields: dict[str, str] = {}
        if mode not in ("off", "quick", "named"):
            fields["mode"] = "must be off, quick or named"
        if protocol not in ("auto", "quic", "http2"):
            fields["protocol"] = "must be auto, quic or http2"
        if mode == "named":
            if not hostname:
                fields["hostname"] = "The public hostname you set up in Cloudflare, e.g. nexus.example.com."
            if not token and not self._has_token():
                fields["token"] = "Paste the tunnel token from the Cloudflare dashboard (it starts with eyJ)."
            elif token and (len(token) < 20 or any(c.isspace() for c in token)):
                fields["token"] = "This does not look like a tunnel token (a long text without spaces)."
        if fields:
            raise SetupError(422, "Some answers need another look.", "invalid_step", fields)
        changes: dict[str, Any] = {"tunnel.mode": mode, "tunnel.protocol": protocol}
        if mode == "named":
            changes["tunnel.hostname"] = hostname
        self._validate(changes)  # before the token is stored: all or nothing
        if token:
            try:
                self._secrets.set(TOKEN_SECRET, token)
            except SecretStoreError as exc:
                raise SetupError(500, str(exc), "secret_store_failed") from exc
        self._update(changes)

    def _step_done(self, body: dict[str, Any], ip: str, via: str) -> None:
        if not self._auth.has_owner():
            self._save("password")
            raise SetupError(409, "Choose the owner password before finishing.", "no_owner", step="password")
        first = not self.completed
        self._repo.save_setup_progress("done", time.time())
        if first:
            self._auth.audit.record("setup-completed", ip=ip, via=via)

    def _validate(self, changes: dict[str, Any]) -> None:
        try:
            self._settings.validate(changes)
        except SettingsError as exc:
            raise SetupError(422, "Some answers need another look.", "invalid_step",
                             {k.split(".", 1)[1]: v for k, v in exc.errors.items()}) from exc

    def _update(self, changes: dict[str, Any]) -> None:
        try:
            self._settings.update(changes)
        except SettingsError as exc:
            raise SetupError(422, "Some answers need another look.", "invalid_step",
                             {k.split(".", 1)[1]: v for k, v in exc.errors.items()}) from exc


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _default_username() -> str:
    try:
        import getpass

        return getpass.getuser() or "owner"
    except Exception:
        return "owner"
