"""Finding the user's OpenCode binary and asking it for its version."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

EXE = "opencode.exe" if sys.platform == "win32" else "opencode"
INSTALL_HINT = ("Install it with the command: npm install -g opencode-ai (or see https://opencode.ai), "
                "or give its path in Settings, OpenCode servers, OpenCode program.")


class BinaryNotFound(RuntimeError):
    def __init__(self, searched: list[str], configured: str = "") -> None:
        self.searched = searched
        self.configured = configured
        if configured:
            msg = f"The configured OpenCode binary {configured!r} does not exist or is not executable. "
        else:
            msg = "No OpenCode binary found on PATH or in npm's usual folders. "
        super().__init__(msg + INSTALL_HINT)


@dataclass(frozen=True)
class BinaryInfo:
    path: str
    source: str  # configured, PATH or the folder it was found in
    version: str | None

    def to_json(self) -> dict[str, str | None]:
        return {"path": self.path, "source": self.source, "version": self.version}


def npm_global_dirs() -> list[Path]:
    """Where `npm install -g`, the OpenCode install script and common Node managers put binaries."""
    home = Path.home()
    dirs = [home / ".opencode" / "bin", home / ".npm-global" / "bin", home / ".local" / "bin",
            home / ".bun" / "bin", home / ".volta" / "bin", home / ".yarn" / "bin"]
    if sys.platform == "win32":
        appdata = os.environ.get("APPDATA")
        if appdata:
            dirs.append(Path(appdata) / "npm")
    else:
        dirs += [Path("/usr/local/bin"), Path("/opt/homebrew/bin"), Path("/usr/bin")]
        dirs += [Path(p) for p in sorted(glob.glob(str(home / ".nvm" / "versions" / "node" / "*" / "bin")), reverse=True)]
    prefix = (os.environ.get("NPM_CONFIG_PREFIX")
              or os.environ.get("npm_config_prefix")  # noqa: SIM112 - npm itself sets it in lower case
              or npmrc_prefix())
    if prefix:
        dirs.insert(0, Path(prefix) / ("" if sys.platform == "win32" else "bin"))
    return dirs


def npmrc_prefix() -> str | None:
    """The `prefix=` of the user's npm config (~/.npmrc, or $NPM_CONFIG_USERCONFIG): where
    `npm install -g` puts programs for people who moved it out of /usr/local."""
    config = Path(os.environ.get("NPM_CONFIG_USERCONFIG") or Path.home() / ".npmrc").expanduser()
    try:
        lines = config.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key.strip() == "prefix" and value.strip():
            value = value.strip().strip('"').strip("'")
            return str(Path(value.replace("${HOME}", str(Path.home()))).expanduser())
    return None


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_opencode(configured: str = "") -> tuple[str, str]:
    """Return (path, where it was found) or raise BinaryNotFound."""
    if configured:
        path = Path(configured).expanduser()
        if _executable(path):
            return str(path.resolve()), "configured"
        raise BinaryNotFound([str(path)], configured)
    on_path = shutil.which(EXE) or shutil.which("opencode")
    if on_path:
        return on_path, "PATH"
    searched = ["PATH"]
    for folder in npm_global_dirs():
        candidate = folder / EXE
        searched.append(str(folder))
        if _executable(candidate):
            return str(candidate), str(folder)
    raise BinaryNotFound(searched)


_version_cache: dict[tuple[str, float, int], str | None] = {}
_version_lock = threading.Lock()


def opencode_version(path: str, timeout: float = 15.0) -> str | None:
    """`opencode --version` takes ~2 s, so the answer is cached per binary file."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    key = (path, stat.st_mtime, stat.st_size)
    with _version_lock:
        if key in _version_cache:
            return _version_cache[key]
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL, check=False)
        match = re.search(r"\d+\.\d+\.\d+\S*", out.stdout + out.stderr)
        version = match.group(0) if match else None
    except (OSError, subprocess.SubprocessError):
        version = None
    with _version_lock:
        _version_cache[key] = version
    return version


def describe_opencode(configured: str = "") -> BinaryInfo:
    path, source = find_opencode(configured)
    return BinaryInfo(path, source, opencode_version(path))
