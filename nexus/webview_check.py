"""Which webview the desktop window will use here, and what is missing (for `nexus doctor`).

Cheap on purpose: it finds modules without importing Qt (the API serves these findings from
the running web server), and on Linux asks `ldd` which system libraries Qt cannot find. It
lives outside `nexus/desktop` because the doctor, and so headless Nexus, uses it; the window
itself (`nexus.desktop.app.load_webview`) is what finally imports the toolkit.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

QT_FIX = "pip install 'nexus-desktop[qt]' (PyQt6 with QtWebEngine); until then `nexus` runs headless"


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def missing_qt_libraries() -> list[str]:
    """System libraries the Qt window needs but the dynamic loader cannot find (Linux)."""
    spec = importlib.util.find_spec("PyQt6")
    ldd = shutil.which("ldd")
    if spec is None or spec.origin is None or ldd is None:
        return []
    qt = Path(spec.origin).parent / "Qt6"
    candidates = [qt / "lib" / "libQt6WebEngineCore.so.6", qt / "plugins" / "platforms" / "libqxcb.so",
                  qt / "lib" / "libQt6XcbQpa.so.6"]
    missing: set[str] = set()
    for library in candidates:
        if not library.exists():
            continue
        try:
            out = subprocess.run([ldd, str(library)], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        missing.update(re.findall(r"^\s*(\S+) => not found", out, re.MULTILINE))
    return sorted(missing)


def debian_package_guess(soname: str) -> str:
    """libxcb-icccm.so.4 -> libxcb-icccm4: Debian's usual naming of a library's package."""
    match = re.match(r"(lib[\w+-]+?)\.so\.(\d+)", soname)
    if not match:
        return soname
    name, version = match.groups()
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def desktop_backend() -> tuple[bool, str, str]:
    """(usable, what will be used or why not, how to fix)."""
    if sys.platform == "win32":
        if _has_module("webview"):
            return True, "pywebview with Edge WebView2 (EdgeChromium)", ""
        return False, "pywebview is not installed", "pip install pywebview"
    if sys.platform == "darwin":
        if _has_module("webview"):
            return True, "pywebview with the system WebKit (Cocoa)", ""
        return False, "pywebview is not installed", "pip install pywebview"
    if not _has_module("webview"):
        return False, "pywebview is not installed", QT_FIX
    if not (_has_module("PyQt6") and _has_module("PyQt6.QtWebEngineWidgets") and _has_module("qtpy")):
        return False, "pywebview is installed but Qt (PyQt6-WebEngine) is not", QT_FIX
    missing = missing_qt_libraries()
    if missing:
        packages = " ".join(sorted({debian_package_guess(m) for m in missing}))
        return False, f"Qt cannot load: missing {', '.join(missing)}", f"apt-get install {packages}"
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return True, "pywebview with Qt (QtWebEngine); no display in this session, so `nexus` runs headless", ""
    return True, "pywebview with Qt (QtWebEngine)", ""
