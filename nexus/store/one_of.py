"""`column IN (a list)` as ONE statement whatever the list's length (issue 13, the soak's RSS).

SQLAlchemy writes `IN (?, ?, ..., ?)` with one placeholder per value, so every length is a
different SQL text. Python's sqlite3 keeps each connection's last 128 statements prepared,
and SQLite's memory for a prepared statement grows with its placeholders: loading a page
of a session (the parts of its newest messages, whose count grows with every reply) left
one more statement of up to hundreds of placeholders in the cache of each pooled connection
in turn. Measured in the chaos soak: SQLite's own memory 1.4 -> 3.8 MB over its second half
(`sqlite3_status64`), ~0.5 MB/min of the RSS slope, and up to 128 such statements per
connection in a long-running Nexus. Here the list is one bound parameter instead: a JSON
array read by `json_each` on SQLite, an array compared with `= ANY` on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, any_, bindparam, func, select
from sqlalchemy.sql.elements import ColumnElement


def one_of(column: ColumnElement[Any], values: Iterable[str], *, postgres: bool) -> ColumnElement[bool]:
    """`column` equals one of `values` (strings), in the same SQL text for any number of them."""
    values = list(values)
    if postgres:
        # Imported here: the PostgreSQL dialect is ~25 ms of start-up a SQLite store never needs.
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(None, values, type_=ARRAY(String), unique=True))
    listed = func.json_each(bindparam(None, json.dumps(values), type_=String, unique=True)).table_valued("value")
    return column.in_(select(listed.c.value))
