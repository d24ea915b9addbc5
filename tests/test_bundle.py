"""The Linux app as users get it: build the one-folder bundle from this checkout with the one
command (build/build.sh), package the tarball, install it into a fresh home with its
install.sh, and run the installed `nexus serve` to a 200 on /healthz. Slow (a PyInstaller
build): marked `slow`, and part of the normal run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import httpx2
import pytest

from tests.auth_helpers import served_address
from tests.desktop_helpers import finish, read_until

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.bundle, pytest.mark.timeout(900),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux bundle is built on Linux")]


def _size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def test_linux_bundle_builds_installs_and_serves(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    started = time.monotonic()
    build = subprocess.run([str(ROOT / "build" / "build.sh")], cwd=ROOT, capture_output=True, text=True,
                           env={**os.environ, "NEXUS_DIST": str(dist), "PYTHON": sys.executable}, timeout=840)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    seconds = time.monotonic() - started
    bundle = dist / "nexus"
    size = _size_mb(bundle)
    print(f"bundle: {size:.0f} MB in {seconds:.0f} s")
    assert (bundle / "nexus").is_file()
    assert not list(bundle.rglob("libQt6Quick3D*")) and not list(bundle.rglob("libQt6Multimedia*")), \
        "unused Qt modules are left out"
    assert list(bundle.rglob("qtwebengine_locales/en-US.pak")) and len(list(bundle.rglob("*.pak"))) < 12
    assert size < 500, f"the Linux bundle grew to {size:.0f} MB"

    tarball = Path(subprocess.run([str(ROOT / "installer" / "linux" / "build-tarball.sh"), str(dist)],
                                  capture_output=True, text=True, check=True, timeout=300).stdout.strip())
    assert tarball.name.startswith("nexus-0.1.0-linux-") and tarball.name.endswith(".tar.gz")
    with tarfile.open(tarball) as tar:
        tar.extractall(tmp_path / "unpacked", filter="tar")
    unpacked = next((tmp_path / "unpacked").iterdir())

    home = tmp_path / "user"
    home.mkdir()
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "NEXUS_HOME": str(tmp_path / "data"),
           "PYTHONUNBUFFERED": "1"}
    subprocess.run([str(unpacked / "install.sh")], env=env, check=True, capture_output=True, timeout=300)
    launcher = home / ".local" / "bin" / "nexus"
    desktop = home / ".local" / "share" / "applications" / "nexus.desktop"
    assert launcher.is_symlink() and (home / ".local/share/icons/hicolor/256x256/apps/nexus.png").is_file()
    entry = desktop.read_text()
    assert f'Exec="{home}/.local/opt/nexus/nexus" %U' in entry and "Icon=nexus" in entry

    proc = subprocess.Popen([str(launcher), "serve", "--port", "0"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        line = read_until(proc, "running at", 90, [])
        url, token = served_address(line)
        assert httpx2.get(f"{url}/healthz", timeout=10).status_code == 200
        assert httpx2.get(f"{url}/static/css/app.css", timeout=10).status_code == 200, "static files are bundled"
        with httpx2.Client(base_url=url, timeout=10, follow_redirects=True) as http:
            assert http.get("/setup", params={"token": token}).status_code == 200, "templates are bundled"
    finally:
        proc.send_signal(signal.SIGTERM)
        out = finish(proc, 60)
    assert proc.returncode == 0, out[-3000:]

    subprocess.run([str(unpacked / "install.sh"), "--uninstall"], env=env, check=True, capture_output=True)
    assert not launcher.exists() and not desktop.exists() and not (home / ".local/opt/nexus").exists()
    assert (tmp_path / "data" / "nexus.db").exists(), "uninstalling keeps the user's data"
