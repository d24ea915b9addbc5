import logging
import threading
import time

from nexus.background import PeriodicWorker


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_runs_on_a_clock_survives_a_failing_round_and_stops_cleanly() -> None:
    # Nexus's own logger does not propagate to the root (caplog's), so listen on it directly.
    handler = ListHandler()
    logging.getLogger("nexus.background").addHandler(handler)
    rounds = []

    def work() -> None:
        rounds.append(time.monotonic())
        if len(rounds) == 2:
            raise RuntimeError("one bad round")

    worker = PeriodicWorker("test-periodic", 0.05, work, what="test work")
    worker.start()
    deadline = time.monotonic() + 5
    while len(rounds) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.stop()
    assert len(rounds) >= 5, "the loop went on after the failing round"
    logging.getLogger("nexus.background").removeHandler(handler)
    assert any("test work failed" in m for m in handler.messages)
    assert not worker.running
    assert "test-periodic" not in {t.name for t in threading.enumerate()}
    count = len(rounds)
    time.sleep(0.15)
    assert len(rounds) == count, "no round after stop"
