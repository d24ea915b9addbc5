"""What checking a chat event against its declared payload costs (nexus/chat/event_check.py),
per event, for the hottest type (text.delta, ~2,000 in 100 ms) and two ordinary ones.

    .venv/bin/python bench/event_check.py     # a few seconds; prints µs per event (best of 5)
"""

from __future__ import annotations

import time

from nexus.chat.event_check import EventCheck

CASES = {
    "text.delta": {"message_id": "msg_1", "part_id": "prt_1", "delta": "hello "},
    "part.update": {"message_id": "msg_1", "part": {"id": "prt_2", "kind": "tool", "tool": "bash",
                                                    "status": "running", "input": {"command": "ls"}}},
    "session.status": {"status": "busy"},
}


def per_event(check: EventCheck, type_: str, data: dict, n: int) -> float:
    check(type_, data)  # builds the pydantic adapter of non-delta types once, outside the timing
    start = time.perf_counter()
    for _ in range(n):
        check(type_, data)
    checked = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(n):
        pass
    empty = time.perf_counter() - start
    return (checked - empty) / n * 1e6


def main() -> None:
    check = EventCheck(strict=True)
    for type_, data in CASES.items():
        n = 200_000 if type_ == "text.delta" else 20_000
        best = min(per_event(check, type_, data, n) for _ in range(5))
        print(f"{type_:16} {best:6.2f} µs/event")


if __name__ == "__main__":
    main()
