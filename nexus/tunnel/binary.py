"""Finding cloudflared: the configured path, else PATH, else Nexus's own copy in the data dir,
which is fetched once (from the download address pycloudflared keeps per platform).

pycloudflared's own `download()` writes into its package folder (read-only installs, lost on
reinstall, inside a PyInstaller bundle) and has no timeout, so Nexus only borrows its table
of URLs and downloads into `<data dir>/bin/` itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

EXE = "cloudflared.exe" if sys.platform == "win32" else "cloudflared"
DOWNLOAD_URL_ENV = "NEXUS_CLOUDFLARED_URL"  # where to fetch Nexus's own copy from, instead of pycloudflared's table
INSTALL_HINT = ("Install cloudflared yourself (Cloudflare's downloads page, or your package manager) and set its "
                "path in Settings > Remote access (tunnel.binary), or run "
                "`nexus settings set tunnel.binary /path/to/cloudflared`.")
_VERSION_LINE = re.compile(r"cloudflared version (\S+)")
_versions: dict[tuple[str, int, int], str | None] = {}


class CloudflaredNotFound(RuntimeError):
    pass


def own_copy(data_dir: Path) -> Path:
    return data_dir / "bin" / EXE


def _runnable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_cloudflared(configured: str, data_dir: Path) -> tuple[str, str]:
    """(path, where it was found) or CloudflaredNotFound with what to do."""
    if configured:
        path = Path(configured).expanduser()
        if not path.exists():
            raise CloudflaredNotFound(f"The configured cloudflared {path} does not exist. Fix tunnel.binary in "
                                      "Settings, or clear it to let Nexus find or fetch cloudflared.")
        if not _runnable(path):
            raise CloudflaredNotFound(f"The configured cloudflared {path} is not an executable file.")
        return str(path), "settings"
    found = shutil.which("cloudflared")
    if found:
        return found, "PATH"
    if _runnable(own_copy(data_dir)):
        return str(own_copy(data_dir)), "Nexus's copy"
    raise CloudflaredNotFound("cloudflared is not installed. When the tunnel starts, Nexus downloads its own copy "
                              "from Cloudflare's releases, which needs internet. " + INSTALL_HINT)


def cloudflared_version(path: str, timeout: float = 10.0) -> str | None:
    """What the binary says of itself (`cloudflared version 2026.8.2 (built …)`), or None when it
    does not run or says something else. Cached per file (path, size, mtime): it costs a process."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _versions:
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=timeout,
                                 stdin=subprocess.DEVNULL)
            match = _VERSION_LINE.search(out.stdout + out.stderr)
            _versions[key] = match.group(1) if match else None
        except (OSError, subprocess.TimeoutExpired):
            _versions[key] = None
    return _versions[key]


def download_url() -> str:
    override = os.environ.get(DOWNLOAD_URL_ENV)
    if override:
        return override
    from pycloudflared.util import get_info

    return get_info().url


def download_cloudflared(data_dir: Path, url: str | None = None, timeout: float = 60.0) -> str:
    """Fetch cloudflared into `<data dir>/bin/` (atomically: a half download is never used)."""
    url = url or download_url()
    target = own_copy(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".cloudflared-", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        import urllib.request  # only for the one-time download; it costs start-up time otherwise

        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as res:
            shutil.copyfileobj(res, out)
        if url.endswith(".tgz"):  # macOS builds come as an archive holding `cloudflared`
            import tarfile  # only here: it costs start-up time otherwise

            with tarfile.open(tmp) as archive:
                member = archive.getmember("cloudflared")
                source = archive.extractfile(member)
                assert source is not None
                tmp.write_bytes(source.read())
        if tmp.stat().st_size == 0:
            raise CloudflaredNotFound(f"The download from {url} was empty.")
        tmp.chmod(0o755)
        os.replace(tmp, target)
    except (OSError, ValueError) as exc:  # ValueError: not a URL
        reason = getattr(exc, "reason", None) or exc
        raise CloudflaredNotFound(f"cloudflared is not installed and Nexus could not download it from {url} "
                                  f"({reason}); the download needs internet. " + INSTALL_HINT) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return str(target)
