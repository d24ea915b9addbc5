"""How the events waiting for one client become what is sent: deltas merged, text made once.

OpenCode can write a burst of ~2,000 text deltas within 100 ms. Sent one by one, each costs
a frame, a syscall and a browser render; a client that reads slower than that would fall
ever further behind. So at each flush, consecutive `text.delta` / `reasoning.delta` events
of the same part of the same session merge into one event whose `delta` is their text
joined, whose `seq` is the last number it covers and whose `from_seq` is the first. A
client applies it as the whole range (`from_seq`..`seq`), so sequence numbers, gaps and
resume stay exact. Events that are not merged go out as the text the hub made once for
every client (`ChatEvent.wire`).
"""

from __future__ import annotations

from typing import Any

from nexus import wire
from nexus.chat import events as ev
from nexus.chat.events import ChatEvent

MERGEABLE = frozenset({ev.TEXT_DELTA, ev.REASONING_DELTA})


class _Merged:
    """A run of deltas of one part, being collected."""

    __slots__ = ("first", "last", "pieces")

    def __init__(self, event: ChatEvent) -> None:
        self.first = event
        self.last = event
        self.pieces = [event.data.get("delta") or ""]

    def takes(self, event: ChatEvent) -> bool:
        a, b = self.last.data, event.data
        return (event.type == self.last.type and event.seq == self.last.seq + 1
                and a.get("message_id") == b.get("message_id") and a.get("part_id") == b.get("part_id")
                and len(a) == len(b) and all(b.get(k) == v for k, v in a.items() if k != "delta"))

    def add(self, event: ChatEvent) -> None:
        self.last = event
        self.pieces.append(event.data.get("delta") or "")

    def wire(self) -> str:
        if self.first is self.last:
            return self.first.wire
        last = self.last
        message: dict[str, Any] = {"session": last.session_id, "seq": last.seq, "from_seq": self.first.seq,
                                   "type": last.type, "at": round(last.at, 3),
                                   "data": {**last.data, "delta": "".join(self.pieces)}}
        return wire.dumps(message)


def merged_wire(events: list[ChatEvent]) -> list[str]:
    """The JSON texts to send for `events` (in the order given), consecutive deltas merged.

    Events of different sessions may interleave; each session's order is kept."""
    out: list[_Merged | str] = []
    open_runs: dict[str, int] = {}  # session -> index in `out` of its run still taking deltas
    for event in events:
        at = open_runs.get(event.session_id)
        run = out[at] if at is not None else None
        if isinstance(run, _Merged) and event.type in MERGEABLE and run.takes(event):
            run.add(event)
            continue
        if event.type in MERGEABLE:
            open_runs[event.session_id] = len(out)
            out.append(_Merged(event))
        else:
            open_runs.pop(event.session_id, None)
            out.append(event.wire)
    return [item if isinstance(item, str) else item.wire() for item in out]
