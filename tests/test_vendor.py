"""The vendored browser libraries are exactly the files their README lists, byte for byte."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "nexus" / "ui" / "static" / "vendor"
LOADED = {".js", ".mjs", ".css"}


def listed() -> dict[str, str]:
    text = (VENDOR / "README.md").read_text()
    block = text.split("SHA-256 of every file", 1)[1].split("```", 2)[1]
    return {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})\s+(\S+)$", block, re.M)}


def test_every_vendored_file_matches_its_listed_checksum() -> None:
    sums = listed()
    assert len(sums) >= 10, "the checksum block was read"
    for name, digest in sums.items():
        path = VENDOR / name
        assert path.is_file(), f"{name} is listed but missing"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"{name} differs from its listed checksum"


def test_nothing_unlisted_is_vendored_and_every_library_has_a_licence() -> None:
    sums = listed()
    present = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.suffix in LOADED}
    assert present == set(sums), f"unlisted: {present - set(sums)}; listed but absent: {set(sums) - present}"
    for folder in {name.split("/")[0] for name in sums}:
        assert (VENDOR / folder / "LICENSE").is_file(), f"{folder} has no LICENSE"


def test_vendored_scripts_are_minified() -> None:
    """The spec asks for minified files. Minifiers drop indentation: a readable build spends
    several per cent of its bytes on it (uPlot's unminified ES module: 8.5 %), these under 2 %."""
    for path in VENDOR.rglob("*"):
        if path.suffix in {".js", ".mjs"}:
            text = path.read_text(encoding="utf-8")
            indentation = sum(len(m) for m in re.findall(r"^[ \t]+", text, re.M))
            assert indentation / len(text) < 0.02, f"{path.relative_to(VENDOR)} does not look minified"
