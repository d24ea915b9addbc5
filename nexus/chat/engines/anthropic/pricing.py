"""Token prices of the Anthropic models, from the one data file `pricing.json` (with the
date it was copied), and the cost of a message's usage.

Prices change rarely and without an API; keeping them in data, dated, makes an update a
one-line change that anyone can check against Anthropic's pricing page.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

_FILE = Path(__file__).with_name("pricing.json")
_PER = 1_000_000


@lru_cache(maxsize=1)
def table() -> dict[str, Any]:
    return json.loads(_FILE.read_text(encoding="utf-8"))


def models() -> list[dict[str, Any]]:
    data = table()
    return [{"id": model_id, "name": row["name"], "provider": "Anthropic",
             "default": model_id == data["default_model"],
             "prices": {k: row[k] for k in ("input", "output", "cache_read", "cache_write")},
             # The context window where the table gives one; 0 = unknown (the meter shows no limit).
             "context": int(row.get("context") or 0), "output": int(row.get("max_output") or 0)}
            for model_id, row in data["models"].items()]


def default_model() -> str:
    return table()["default_model"]


def price_of(model: str) -> dict[str, float] | None:
    """Prices for `model`; dated ids (claude-sonnet-4-5-20250929) use their family's row."""
    rows = table()["models"]
    if model in rows:
        return rows[model]
    best = max((m for m in rows if model.startswith(m)), key=len, default=None)
    return rows[best] if best else None


def cost_of(model: str, tokens: dict[str, int]) -> float:
    """US dollars for the normalized tokens (input excludes cached input, as Anthropic counts it).
    Unknown models cost 0 (shown as such, never guessed)."""
    price = price_of(model)
    if price is None:
        return 0.0
    total = sum(tokens.get(k, 0) * price[k] for k in ("input", "output", "cache_read", "cache_write"))
    return round(total / _PER, 8)
