"""The public URL as a QR code (SVG, made on the server: no script library in the page)."""

from __future__ import annotations

import io


def qr_svg(text: str, *, title: str = "QR code of the public address") -> str:
    import segno

    buffer = io.BytesIO()
    # Dark modules on white with a quiet zone: phone cameras need the contrast in dark mode too.
    segno.make(text, error="m").save(buffer, kind="svg", scale=6, border=3, dark="#000", light="#fff",
                                     title=title, xmldecl=False, svgns=True, nl=False)
    return buffer.getvalue().decode()
