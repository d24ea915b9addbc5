import threading
import time

from nexus.background import PeriodicWorker


def test_runs_on_a_clock_survives_a_failing_round_and_stops_cleanly(caplog) -> None:
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
    assert "test work failed" in caplog.text
    assert not worker.running
    assert "test-periodic" not in {t.name for t in threading.enumerate()}
    count = len(rounds)
    time.sleep(0.15)
    assert len(rounds) == count, "no round after stop"
