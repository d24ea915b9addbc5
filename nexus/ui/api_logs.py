"""REST for the log: pages of lines from the end, and downloads of the view or the whole log.

Filters come as query parameters, the same for every route (and the live stream):
`level` and `source` (comma separated, or repeated), `q` (text, case-insensitive).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from flask import Response, jsonify, request

from nexus.logs.reader import LEVELS, SOURCES, CursorGone, LogFilter, LogReader, parse_cursor
from nexus.logs.redaction import redact, redact_entry
from nexus.ui.context import int_arg, runtime
from nexus.ui.errors import ApiError

MAX_QUERY_CHARS = 200


def _choices(name: str, allowed: tuple[str, ...]) -> frozenset[str]:
    values = {v.strip() for raw in request.args.getlist(name) for v in raw.split(",") if v.strip()}
    if name == "level":
        values = {v.upper() for v in values}
    unknown = sorted(values - set(allowed))
    if unknown:
        raise ApiError(400, f"Unknown {name} {', '.join(unknown)}: use any of {', '.join(allowed)}.",
                       "bad_parameter", parameter=name, allowed=list(allowed))
    return frozenset(values)


def log_filter() -> LogFilter:
    """The filter the query parameters ask for; 400 with the reason when they are not valid."""
    text = request.args.get("q", "")
    if len(text) > MAX_QUERY_CHARS:
        raise ApiError(400, f"The search text is longer than {MAX_QUERY_CHARS} characters.", "bad_parameter",
                       parameter="q")
    return LogFilter(_choices("level", LEVELS), _choices("source", SOURCES), text)


def reader() -> LogReader:
    return LogReader(runtime().paths.log_file)


def logs_list() -> Any:
    filters = log_filter()
    limit = int_arg("limit", 200, 1, 1000) or 200
    cursor = request.args.get("cursor") or None
    if cursor is not None:
        try:
            parse_cursor(cursor)
        except ValueError:
            raise ApiError(400, "The cursor is not one this API gave out.", "bad_parameter",
                           parameter="cursor") from None
    try:
        page = reader().read(limit, filters, cursor)
    except CursorGone:
        raise ApiError(410, "Those lines were rotated away since this page loaded; reload to see the log as "
                            "it is now.", "rotated_away") from None
    follower = runtime().log_follower
    return jsonify({"lines": [redact_entry(e) for e in page.lines], "cursor": page.cursor,
                    "scanned_bytes": page.scanned_bytes,
                    "following": follower.position() if follower is not None else None})


def _ndjson(lines: Iterator[tuple[bytes, dict[str, Any] | None]]) -> Iterator[bytes]:
    """Lines as written, cleaned again on the way out; corrupt lines (only in 'all') as text."""
    batch: list[str] = []
    for raw, entry in lines:
        if entry is None:
            batch.append(redact(raw.decode("utf-8", "replace")))
        else:
            entry.pop("id", None)
            batch.append(json.dumps(redact_entry(entry), ensure_ascii=False, default=str))
        if len(batch) >= 500:
            yield ("\n".join(batch) + "\n").encode("utf-8")
            batch.clear()
    if batch:
        yield ("\n".join(batch) + "\n").encode("utf-8")


def logs_download() -> Any:
    scope = request.args.get("scope", "view")
    if scope not in ("view", "all"):
        raise ApiError(400, "scope must be 'view' (the lines matching the filters) or 'all' (the whole log).",
                       "bad_parameter", parameter="scope")
    filters = log_filter() if scope == "view" else None
    lines = reader().iter_forward(filters)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    name = f"nexus-log-{'view-' if scope == 'view' else ''}{stamp}.jsonl"
    return Response(_ndjson(lines), mimetype="application/x-ndjson",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store",
                             "X-Content-Type-Options": "nosniff"})
