"""Nexus's URL rules compile their URL builders on first use (nexus/ui/url_rules.py, issue 16):
every rule must still build exactly the URL Werkzeug's own eagerly compiled rule builds."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import Map, Rule

from nexus.ui.url_rules import LazyBuilderRule

# One value per converter Nexus uses, and strings that need quoting.
SAMPLE = {"int": 7}
TEXT = "a b/ü?&#%"


def _values(rule: Rule) -> dict[str, object]:
    converters = {name: type(conv).__name__ for name, conv in rule._converters.items()}
    return {name: SAMPLE["int"] if converters.get(name) == "IntegerConverter" else TEXT for name in rule.arguments}


def test_every_route_builds_the_url_an_eager_rule_builds(app: Flask) -> None:
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    assert len(rules) > 50 and all(type(r) is LazyBuilderRule for r in rules)
    eager = Map([Rule(r.rule, endpoint=r.endpoint, defaults=r.defaults, methods=r.methods, websocket=r.websocket)
                 for r in rules])
    ours = app.url_map.bind("nexus.test")
    theirs = eager.bind("nexus.test")
    for rule, twin in zip(rules, eager.iter_rules(), strict=True):
        values = _values(rule)
        for append_unknown in (True, False, True):  # each builder, the first call and a later one
            with_unknown = {**values, "q": "x y"}
            assert rule.build(with_unknown, append_unknown) == twin.build(with_unknown, append_unknown), rule.rule
        method = sorted(rule.methods or {"GET"})[0]
        for extra in ({}, {"q": "x y", "page": 2}):  # without, then with unknown arguments (a query string)
            got = ours.build(rule.endpoint, {**values, **extra}, method=method)
            want = theirs.build(rule.endpoint, {**values, **extra}, method=method)
            assert got == want, rule.rule
            # The second call uses the builder the first one compiled.
            assert ours.build(rule.endpoint, {**values, **extra}, method=method) == want


def test_a_rule_added_later_and_rebound_still_builds() -> None:
    app = Flask(__name__)
    app.url_rule_class = LazyBuilderRule
    app.add_url_rule("/things/<int:thing_id>/<path:rest>", endpoint="thing", view_func=lambda **_: "")
    adapter = app.url_map.bind("nexus.test")
    assert adapter.build("thing", {"thing_id": 3, "rest": "x/y z"}) == "/things/3/x/y%20z"
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "thing")
    rule.refresh()  # compiles the rule again: its builders are lazy stubs again
    assert adapter.build("thing", {"thing_id": 4, "rest": "q", "n": 1}) == "/things/4/q?n=1"
