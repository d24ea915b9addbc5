import logging
import threading
import time

from nexus.background import PeriodicWorker
from tests.wait_helpers import wait_until


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
    wait_until(lambda: len(rounds) >= 5, 5, "the loop went on after the failing round")
    worker.stop()
    logging.getLogger("nexus.background").removeHandler(handler)
    assert any("test work failed" in m for m in handler.messages)
    assert not worker.running
    assert "test-periodic" not in {t.name for t in threading.enumerate()}
    # No round can follow stop(): the only thread that runs them has ended (no need to wait and see).
