"""Finding cloudflared: the configured path, else PATH, else Nexus's own copy in the data dir,
which is fetched once (from the download address pycloudflared keeps per platform).

pycloudflared's own `download()` writes into its package folder (read-only installs, lost on
reinstall, inside a PyInstaller bundle) and has no timeout, so Nexus only borrows its table
of URLs and downloads into `<data dir>/bin/` itself.
"""

from __future__ import annotations

import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

EXE = "cloudflared.exe" if sys.platform == "win32" else "cloudflared"


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
    raise CloudflaredNotFound("cloudflared is not installed. Nexus can fetch it once from Cloudflare's releases "
                              "(needs internet), or install it yourself and set tunnel.binary.")


def download_url() -> str:
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

        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as res:  # noqa: S310
            shutil.copyfileobj(res, out)
        if url.endswith(".tgz"):  # macOS builds come as an archive holding `cloudflared`
            with tarfile.open(tmp) as archive:
                member = archive.getmember("cloudflared")
                source = archive.extractfile(member)
                assert source is not None
                tmp.write_bytes(source.read())
        if tmp.stat().st_size == 0:
            raise CloudflaredNotFound(f"The download from {url} was empty.")
        tmp.chmod(0o755)
        os.replace(tmp, target)
    except OSError as exc:
        raise CloudflaredNotFound(f"cloudflared could not be downloaded from {url}: {exc}. Without internet, "
                                  "install cloudflared yourself and set tunnel.binary.") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return str(target)
