"""Static files served so a page paints at once: hashed names, cached for a year, compressed once.

- Every file under static/ is addressed as /static/v/<version>/<path>, where <version> is a
  digest of the whole static tree. The pages' ES modules import each other by relative path,
  so they all resolve inside the same versioned tree: any change to any file gives every
  file a new address, and an address never changes its content (hence `immutable`).
- Each page links exactly ONE stylesheet: /static/b/<digest>/<a+b+c>.css, the base sheets
  (design tokens, dark colours, top bar, notifications) followed by the page's own. The
  name lists the parts, so any process can rebuild a bundle from its address alone.
- A few rules (critical.css: the tokens, the background, the top bar's box) go inline in
  <head> so the first paint has the right colours and no shift; the CSP allows exactly that
  style element by its sha256.
- A compressed body (brotli, gzip) is made once per file and kept in memory; Flask-Compress
  leaves responses that already carry a Content-Encoding alone.

Unversioned /static/<path> keeps working (short cache) for what must have a fixed address:
the service worker, the manifest's icons, notifications' icon.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import mimetypes
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import brotli

STATIC_DIR = Path(__file__).resolve().parent / "static"
LONG_CACHE = "public, max-age=31536000, immutable"
SHORT_CACHE = "no-cache"  # revalidated with the ETag every time: fixed addresses must never go stale
COMPRESSIBLE = {"text/css", "text/javascript", "application/javascript", "image/svg+xml", "application/json",
                "application/manifest+json"}
MIN_COMPRESS = 512

# Stylesheets every page carries, in this order; a page's own parts follow, then TAIL_PARTS
# (the phone sizes, which must win over the pages' own).
BASE_PARTS = ("app", "dark", "notifications")
TAIL_PARTS = ("touch",)
# Part name -> file. Page parts are css/<name>.css; these are the exceptions.
SPECIAL_PARTS = {"uplot": "vendor/uplot-1.6.32/uPlot.min.css"}
_PART = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


def _dark_rules(css: str) -> str:
    """theme-dark.css written for one stylesheet: its rules apply when the theme is "dark", and
    with the system's dark mode when the theme is "system" (base.html sets data-theme)."""
    forced = css.replace("[data-theme]", '[data-theme="dark"]')
    system = css.replace("[data-theme]", '[data-theme="system"]')
    return f"{forced}\n@media (prefers-color-scheme: dark) {{\n{system}\n}}\n"


@dataclass(frozen=True)
class Asset:
    body: bytes
    mimetype: str
    etag: str
    encoded: dict[str, bytes]  # "br"/"gzip" -> compressed body (filled on first request)


class AssetStore:
    """The static tree's version, the stylesheet bundles and the compressed bodies, all made
    once per process (the files are part of the installed program and do not change)."""

    def __init__(self, root: Path = STATIC_DIR) -> None:
        self.root = root
        self.critical_css = (root / "css" / "critical.css").read_text(encoding="utf-8").strip()
        sha = base64.b64encode(hashlib.sha256(self.critical_css.encode()).digest()).decode()
        self.critical_csp = f"'sha256-{sha}'"
        self._cache: dict[str, Asset] = {}
        self._lock = threading.Lock()

    @functools.cached_property
    def version(self) -> str:
        """A digest of every file's name and content (read once, on the first page)."""
        digest = hashlib.sha256()
        for path in sorted(p for p in self.root.rglob("*") if p.is_file()):
            digest.update(path.relative_to(self.root).as_posix().encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()[:16]

    # ----- addresses ------------------------------------------------------------------------

    def url(self, filename: str) -> str:
        return f"/static/v/{self.version}/{filename}"

    def bundle_parts(self, *parts: str) -> tuple[str, ...]:
        seen: list[str] = []
        for part in (*BASE_PARTS, *parts, *TAIL_PARTS):
            if part not in seen:
                seen.append(part)
        return tuple(seen)

    def bundle_url(self, *parts: str) -> str:
        names = self.bundle_parts(*parts)
        asset = self._bundle(names)
        return f"/static/b/{asset.etag}/{'+'.join(names)}.css"

    # ----- bodies ---------------------------------------------------------------------------

    def _part_path(self, part: str) -> Path | None:
        if not _PART.match(part):
            return None
        relative = SPECIAL_PARTS.get(part) or ("css/theme-dark.css" if part == "dark" else f"css/{part}.css")
        path = self.root / relative
        return path if path.is_file() else None

    def _bundle(self, names: tuple[str, ...]) -> Asset:
        key = "b:" + "+".join(names)
        with self._lock:
            cached = self._cache.get(key)
        if cached:
            return cached
        chunks = []
        for name in names:
            path = self._part_path(name)
            if path is None:
                raise KeyError(name)
            text = path.read_text(encoding="utf-8")
            chunks.append(f"/* {name} */\n" + (_dark_rules(text) if name == "dark" else text))
        return self._remember(key, "\n".join(chunks).encode(), "text/css")

    def _remember(self, key: str, body: bytes, mimetype: str) -> Asset:
        asset = Asset(body, mimetype, hashlib.sha256(body).hexdigest()[:16], {})
        with self._lock:
            return self._cache.setdefault(key, asset)

    def file(self, filename: str) -> Asset | None:
        """The file at static/<filename>, or None (missing, or outside the static tree)."""
        key = "f:" + filename
        with self._lock:
            cached = self._cache.get(key)
        if cached:
            return cached
        path = (self.root / filename).resolve()
        if self.root not in path.parents or not path.is_file():
            return None
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix in (".js", ".mjs"):
            mimetype = "text/javascript"
        elif path.suffix == ".webmanifest":
            mimetype = "application/manifest+json"
        return self._remember(key, path.read_bytes(), mimetype)

    def bundle(self, digest: str, name: str) -> Asset | None:
        """The stylesheet bundle /static/b/<digest>/<name>.css; None if the name lists an unknown
        part. A digest from another build still gets the current bundle (never cached long)."""
        if not name.endswith(".css"):
            return None
        names = tuple(name[:-4].split("+"))
        if len(names) > 12:
            return None
        try:
            return self._bundle(names)
        except KeyError:
            return None

    def encoded(self, asset: Asset, accept_encoding: str) -> tuple[bytes, str | None]:
        """(body, content-encoding) for this client; each compressed body is made once."""
        if asset.mimetype not in COMPRESSIBLE or len(asset.body) < MIN_COMPRESS:
            return asset.body, None
        accepted = {part.split(";")[0].strip().lower() for part in accept_encoding.split(",")}
        for coding in ("br", "gzip"):
            if coding in accepted:
                with self._lock:
                    body = asset.encoded.get(coding)
                if body is None:
                    body = brotli.compress(asset.body, quality=11) if coding == "br" else \
                        gzip.compress(asset.body, compresslevel=9, mtime=0)
                    with self._lock:
                        asset.encoded[coding] = body
                return body, coding
        return asset.body, None
