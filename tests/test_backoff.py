from nexus.server.backoff import Backoff


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_delays_grow_exponentially_up_to_the_cap_then_give_up() -> None:
    backoff = Backoff(initial=1, factor=2, max_delay=5, max_attempts=5, reset_after=60, clock=FakeClock())
    assert [backoff.next_delay() for _ in range(5)] == [1, 2, 4, 5, 5]
    assert backoff.next_delay() is None
    assert backoff.attempts == 5


def test_stable_running_resets_the_attempts() -> None:
    clock = FakeClock()
    backoff = Backoff(initial=1, factor=3, max_delay=100, max_attempts=4, reset_after=30, clock=clock)
    assert backoff.next_delay() == 1
    assert backoff.next_delay() == 3
    started = clock.now
    clock.now += 29.9
    backoff.note_running_since(started)
    assert backoff.attempts == 2, "not stable for long enough yet"
    clock.now += 0.2
    backoff.note_running_since(started)
    assert backoff.attempts == 0
    assert backoff.next_delay() == 1


def test_zero_initial_delay_restarts_immediately() -> None:
    backoff = Backoff(initial=0, factor=2, max_delay=10, max_attempts=2, reset_after=5, clock=FakeClock())
    assert backoff.next_delay() == 0
    assert backoff.next_delay() == 0
    assert backoff.next_delay() is None
