"""The JSON text of a live message (chat events, merged deltas, status, metrics, log lines,
terminal output): compact, non-ASCII as is.

Written by orjson: a delta's text costs ~0.3 µs instead of the standard library's ~3 µs, with
the GIL held, at up to ~20,000 deltas a second in a burst (issue 16). The output is the same
JSON (a float may be spelled differently, e.g. 1e16 for 1e+16; NaN, which is not JSON, is null).
"""

from __future__ import annotations

from typing import Any

import orjson


def dumps(message: Any) -> str:
    return orjson.dumps(message, option=orjson.OPT_NON_STR_KEYS).decode()
