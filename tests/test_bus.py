from nexus.bus import EventBus


def test_prefix_subscriptions_and_exact_topics() -> None:
    bus = EventBus()
    with bus.subscribe(["server."]) as server_sub, bus.subscribe(["settings.changed"]) as settings_sub:
        bus.publish("server.state", state="running")
        bus.publish("settings.changed", keys=["x"])
        bus.publish("serverless", x=1)
        assert server_sub.get(0).topic == "server.state"
        assert server_sub.get(0) is None
        assert settings_sub.get(0).data == {"keys": ["x"]}
    assert bus.subscriber_count == 0


def test_a_slow_subscriber_loses_oldest_events_without_blocking() -> None:
    bus = EventBus()
    sub = bus.subscribe(maxsize=3)
    for i in range(10):
        bus.publish("tick", i=i)
    assert sub.dropped == 7
    assert [sub.get(0).data["i"] for _ in range(3)] == [7, 8, 9]


def test_a_failing_listener_does_not_break_publishing() -> None:
    bus = EventBus()
    got = []

    def broken(_event) -> None:
        raise RuntimeError("listener bug")

    bus.listen(broken)
    bus.listen(got.append)
    bus.publish("x")
    assert [e.topic for e in got] == ["x"]
