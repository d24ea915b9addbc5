"""Every chat event is checked against its declared payload (`events.PAYLOADS`) as it enters
the hub (`ChatHub.emit`), the one place all events pass.

An unknown type or a payload that does not match is a programming error in an engine. In tests
(NEXUS_STRICT_EVENTS=1, set by tests/conftest.py) it raises `EventError` at the emit that made
it. In use it is logged once per event type and the event is delivered all the same: a reply
keeps streaming even if one field is off.

Cost: deltas come ~2,000 in 100 ms, so `text.delta` and `reasoning.delta` are accepted by a
few type checks (~0.3 µs, bench/event_check.py); only one that fails them goes to pydantic.
Every other type is validated by the pydantic-core validator of its TypedDict (~1 µs), built
on first use (pydantic's import, ~30 ms, falls on the first such event, not on start-up).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from nexus.chat import events as ev

if TYPE_CHECKING:
    from pydantic import ValidationError

log = logging.getLogger(__name__)

STRICT_ENV = "NEXUS_STRICT_EVENTS"  # "1": raise (the test suite sets it; `python -m nexus` children inherit it)


class EventError(TypeError):
    """An event that does not match its declared payload (a bug in whatever emitted it)."""


class EventCheck:
    def __init__(self, strict: bool | None = None) -> None:
        self.strict = strict  # None: as NEXUS_STRICT_EVENTS says when a problem is found (read only then)
        self._reported: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, type_: str, data: Any) -> None:
        # The hot path: a delta with its three texts. Anything else a delta carries is pydantic's to judge.
        if type_ in _DELTAS and type(data) is dict and type(data.get("delta")) is str \
                and type(data.get("part_id")) is str and type(data.get("message_id")) is str:
            return
        problem = problem_of(type_, data)
        if problem is None:
            return
        if self.strict if self.strict is not None else os.environ.get(STRICT_ENV) == "1":
            raise EventError(f"{type_} event: {problem}")
        with self._lock:
            first = type_ not in self._reported
            self._reported.add(type_)
        if first:  # once per type: a broken engine must not flood the log at 2,000 deltas a turn
            log.warning("a %s event does not match its declared payload (delivered anyway; later ones of this "
                        "type are not reported): %s", type_, problem)


_DELTAS = frozenset({ev.TEXT_DELTA, ev.REASONING_DELTA})


def problem_of(type_: str, data: Any) -> str | None:
    """What is wrong with an event, or None."""
    if type_ not in ev.PAYLOADS:
        return f"unknown event type {type_!r} (known: {', '.join(sorted(ev.PAYLOADS))})"
    validate, error_type = _validator(type_)
    try:
        validate(data)
    except error_type as exc:
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'data'}: {e['msg']}" for e in exc.errors())
    return None


@cache
def _validator(type_: str) -> tuple[Callable[[Any], Any], type[ValidationError]]:
    """The pydantic-core validator of a type's payload (its TypeAdapter's, without the wrapper's cost)."""
    from pydantic import TypeAdapter, ValidationError

    return TypeAdapter(ev.PAYLOADS[type_]).validator.validate_python, ValidationError


check_event = EventCheck()
