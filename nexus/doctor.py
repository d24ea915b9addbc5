"""The system check behind `nexus doctor` and the API: what Nexus found, and how to fix what
is missing."""

from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import dataclass

from nexus.paths import DataPaths
from nexus.server.binary import INSTALL_HINT, BinaryNotFound, find_opencode, opencode_version
from nexus.settings import Settings
from nexus.tunnel.binary import CloudflaredNotFound, cloudflared_version, find_cloudflared


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True

    def to_json(self) -> dict[str, object]:
        return self.__dict__.copy()


def run_checks(settings: Settings | None, paths: DataPaths) -> list[Check]:
    configured = settings["server.binary"] if settings else ""
    attach_url = settings["server.url"] if settings else ""
    tunnel_binary = settings["tunnel.binary"] if settings else ""
    return [_python(), _opencode(configured, attach_url), _ripgrep(), _data_dir(paths), _keyring(),
            _cloudflared(tunnel_binary, paths), _chromium(), _desktop()]


def _python() -> Check:
    ok = sys.version_info >= (3, 11)
    return Check("Python", ok, f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
                 "" if ok else "Nexus needs Python 3.11 or newer.")


def _opencode(configured: str, attach_url: str) -> Check:
    if attach_url:
        return Check("OpenCode", True, f"attaching to the server at {attach_url}", required=False)
    try:
        path, source = find_opencode(configured)
    except BinaryNotFound as exc:
        return Check("OpenCode", False, str(exc).split(". ")[0] + ".", INSTALL_HINT)
    version = opencode_version(path)
    if version is None:
        return Check("OpenCode", False, f"{path} (found via {source}) did not report a version",
                     "Check that the file is the opencode binary and runs on this machine.")
    return Check("OpenCode", True, f"{version} at {path} (found via {source})")


def _cloudflared(configured: str, paths: DataPaths) -> Check:
    """Only remote access (the tunnel) needs it, so it is never required."""
    try:
        path, source = find_cloudflared(configured, paths.root)
    except CloudflaredNotFound as exc:
        return Check("cloudflared", False, "not installed" if not configured else f"{configured} is missing",
                     str(exc), required=False)
    version = cloudflared_version(path)
    if version is None:
        return Check("cloudflared", False, f"{path} (found via {source}) did not report a version",
                     "Check that the file is cloudflared and runs on this machine, or fix tunnel.binary.",
                     required=False)
    return Check("cloudflared", True, f"{version} at {path} (found via {source})", required=False)


def _ripgrep() -> Check:
    rg = shutil.which("rg")
    if rg:
        return Check("ripgrep", True, rg, required=False)
    return Check("ripgrep", False, "not on PATH; OpenCode's file search needs it and tries to download it",
                 "Install ripgrep (`apt install ripgrep`, `brew install ripgrep` or `pip install ripgrep`).",
                 required=False)


def _data_dir(paths: DataPaths) -> Check:
    try:
        paths.ensure()
        probe = paths.root / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return Check("Data dir", False, f"{paths.root}: {exc.strerror or exc}",
                     "Choose a writable folder with --data-dir or NEXUS_HOME.")
    return Check("Data dir", True, str(paths.root))


def _keyring() -> Check:
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        name = f"{type(backend).__module__}.{type(backend).__name__}"
        usable = not isinstance(backend, fail.Keyring) and getattr(backend, "priority", 0) >= 1
    except Exception as exc:  # keyring backends fail in many platform-specific ways
        return Check("Keyring", False, f"keyring failed to load: {exc}", "Reinstall Nexus.", required=False)
    if usable:
        return Check("Keyring", True, name, required=False)
    return Check("Keyring", False, f"no OS keyring ({name})",
                 "Secrets will use Nexus's encrypted file store. For the OS keyring, run a Secret Service "
                 "(GNOME Keyring or KWallet) in your session.", required=False)


def _chromium() -> Check:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/lib/chromium/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return Check("Chromium (tests only)", True, candidate, required=False)
    return Check("Chromium (tests only)", False, "not found; only the browser tests need it",
                 "apt-get install chromium (or set CHROMIUM_PATH).", required=False)


def _desktop() -> Check:
    from nexus.webview_check import desktop_backend

    usable, detail, fix = desktop_backend()
    return Check("Desktop window", usable, detail, fix, required=False)
