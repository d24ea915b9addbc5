"""Draw the web app's PNG icons from static/img/icon.svg with the system Chromium (no image
library needed). Run after changing the SVG:  python scripts/make_icons.py

- icon-192.png, icon-512.png: the icon as drawn (rounded square, transparent corners), "any".
- icon-maskable-512.png: a full-bleed square with the mark inside the 80 % safe zone, "maskable".
- apple-touch-icon.png (180): full-bleed and opaque (iOS fills transparency with black).
"""

from __future__ import annotations

import base64
from pathlib import Path

from playwright.sync_api import sync_playwright

IMG = Path(__file__).resolve().parents[1] / "nexus" / "ui" / "static" / "img"
BG = "#1f2328"


def main() -> None:
    svg = (IMG / "icon.svg").read_text()
    data = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    # The mark without its rounded square, for the full-bleed icons.
    mark = svg.replace('<rect width="32" height="32" rx="8" fill="#1f2328"/>', "")
    mark_data = "data:image/svg+xml;base64," + base64.b64encode(mark.encode()).decode()
    jobs = [("icon-192.png", 192, data, None, 1.0), ("icon-512.png", 512, data, None, 1.0),
            ("icon-maskable-512.png", 512, mark_data, BG, 0.62), ("apple-touch-icon.png", 180, mark_data, BG, 0.74)]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/lib/chromium/chromium", args=["--no-sandbox"])
        for name, size, src, bg, scale in jobs:
            page = browser.new_page(viewport={"width": size, "height": size})
            inner = int(size * scale)
            page.set_content(f'<body style="margin:0;width:{size}px;height:{size}px;display:grid;place-items:center;'
                             f'background:{bg or "transparent"}"><img src="{src}" width="{inner}" height="{inner}">')
            page.screenshot(path=str(IMG / name), omit_background=bg is None)
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
