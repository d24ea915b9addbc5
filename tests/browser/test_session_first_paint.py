"""A session page, and each card of the main page, paints its newest messages from its HTML,
before any script has loaded, and the view its script draws takes their place without moving
them (how fast: bench/long_session.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .auth_helpers import serious_violations
from .chat_fixtures import ChatNexus, module_chat_nexus

DESKTOP = {"viewport": {"width": 1440, "height": 900}}
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
EVIL = ('Look: <img src="/static/img/icon.svg" onerror="window.__ran=1" onload="window.__ran=1">'
        '<script>window.__ran = 1</script> [click](javascript:window.__ran=1)\n\n'
        '```js\nconsole.log("<b>not bold</b>")\n```')


@pytest.fixture(scope="module")
def nexus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatNexus]:
    with module_chat_nexus(tmp_path_factory.mktemp("first-paint"), opencode=False) as nx:
        yield nx


def seed(nx: ChatNexus, texts: list[str | list[dict[str, Any]]]) -> tuple[str, list[str]]:
    """A stored session of alternating user / assistant messages with these texts (or parts)."""
    session_id = f"s_{uuid.uuid4().hex[:20]}"
    now = time.time() - len(texts) * 5
    nx.runtime.chat.repo.create_session({"id": session_id, "engine": "opencode", "engine_ref": f"seed-{session_id}",
                                         "title": "First paint", "agent": "build", "model": "fake/fake-model",
                                         "directory": None, "state": "active", "status": "idle"})
    messages, parts, ids = [], [], []
    for i, body in enumerate(texts):
        mid = f"msg_{i:06d}_{session_id[-6:]}"
        ids.append(mid)
        messages.append({"id": mid, "session_id": session_id, "role": "user" if i % 2 == 0 else "assistant",
                         "created_at": now + i * 5, "completed_at": now + i * 5 + 1, "agent": "build",
                         "model": "fake/fake-model", "finish": "stop", "error": None,
                         "tokens": {"input": 10, "output": 20, "reasoning": 0, "cache_read": 0, "cache_write": 0},
                         "cost": 0.0})
        for n, part in enumerate([{"kind": "text", "text": body}] if isinstance(body, str) else body):
            parts.append((n, {"id": f"prt_{i:06d}_{n}_{session_id[-6:]}", **part, "message_id": mid,
                              "session_id": session_id}))
    nx.runtime.chat.repo.save({"id": session_id, "title": "First paint", "state": "active", "status": "idle",
                               "tokens": {"input": 10, "output": 20}, "cost": 0.0}, len(texts), messages, parts)
    return session_id, ids


def scripts_blocked(page: Page) -> Page:
    """No script of Nexus's arrives: what the page shows is its HTML and stylesheet alone."""
    page.route("**/static/**/*.js", lambda route: route.abort())
    return page


def geometry(page: Page, message_id: str, earlier_id: str) -> dict[str, Any]:
    return page.evaluate("""([id, earlier]) => {
      const box = (e) => { const r = e.getBoundingClientRect(); return [Math.round(r.top), Math.round(r.height)]; };
      return {last: box(document.querySelector(`.msg[data-id="${id}"]`)),
              earlier: box(document.querySelector(`.msg[data-id="${earlier}"]`)),
              transcript: box(document.querySelector('.session.full .transcript')),
              composer: box(document.querySelector('.session.full .composer'))};
    }""", [message_id, earlier_id])


def test_newest_messages_painted_before_any_script_and_nothing_from_the_model_runs(new_page: Any,
                                                                                    nexus: ChatNexus) -> None:
    session_id, ids = seed(nexus, [f"Question {i}" if i % 2 == 0 else f"Answer **{i}**" for i in range(199)] + [EVIL])
    page = scripts_blocked(new_page(nexus.url, **DESKTOP))
    page.goto(f"/s/{session_id}")
    preview = page.locator(".session.full.preview")
    last = preview.locator(f'.msg[data-id="{ids[-1]}"]')
    expect(last).to_be_in_viewport()
    # A window of the newest, as the view draws it: not the whole transcript.
    expect(preview.locator(".msg")).to_have_count(12)
    assert preview.locator(".msg").first.get_attribute("data-id") == ids[-12]
    # The reply's markdown as the view renders it: its code block under a head naming the language.
    expect(last.locator(".code-block .code-lang")).to_have_text("js")
    expect(last.locator("pre code")).to_have_text('console.log("<b>not bold</b>")')
    # The model's HTML is kept to what cannot act.
    assert last.locator("script, [onerror], [onload], a[href^='javascript']").count() == 0
    expect(last.locator("img")).to_have_attribute("referrerpolicy", "no-referrer")
    # What acts is inert until the view takes over; the transcript can be scrolled and read.
    assert preview.locator(".composer").evaluate("e => e.inert") is True
    expect(page.locator(".session.full .transcript")).to_have_attribute("role", "log")


def test_the_view_takes_the_first_paints_place_without_moving_it(new_page: Any, nexus: ChatNexus) -> None:
    texts: list[str | list[dict[str, Any]]] = [
        f"Question {i}" if i % 2 == 0 else f"Answer **{i}**:\n\n```python\ndef f(x):\n    return x * {i}\n```\n\n- a\n- b"
        for i in range(60)]
    # The newest reply as agents write them: thinking, a tool call, a table, then the answer.
    texts[-1] = [{"kind": "reasoning", "text": "The tests fail on import.\nLook at setup.py."},
                 {"kind": "tool", "tool": "bash", "status": "completed", "title": "Run the tests",
                  "input": {"command": "pytest -q"}, "output": "3 passed"},
                 {"kind": "text", "text": "| file | result |\n|---|---|\n| a.py | ok |\n\nAll **green** now."}]
    session_id, ids = seed(nexus, texts)
    for options in (DESKTOP, PHONE):
        painted = scripts_blocked(new_page(nexus.url, **options))
        painted.goto(f"/s/{session_id}")
        expect(painted.locator(".session.full.preview")).to_be_visible()
        expect(painted.locator(f'.msg[data-id="{ids[-1]}"] details.tool .tool-subject')).to_have_text("Run the tests")
        before = geometry(painted, ids[-1], ids[-3])

        page = new_page(nexus.url, **options)
        errors: list[str] = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.goto(f"/s/{session_id}")
        expect(page.locator('.session.full[data-loaded="1"]')).to_be_visible()
        expect(page.locator(".session.preview")).to_have_count(0)
        expect(page.locator(f'.msg[data-id="{ids[-1]}"]')).to_have_count(1)  # drawn once, by the view
        expect(page.locator(f'.msg[data-id="{ids[-3]}"] .code-head .copy')).to_be_visible()
        expect(page.locator(f'.msg[data-id="{ids[-1]}"] details.tool .tool-subject')).to_have_text("Run the tests")
        after = geometry(page, ids[-1], ids[-3])
        for key in ("last", "earlier", "transcript", "composer"):
            assert abs(before[key][0] - after[key][0]) <= 2 and abs(before[key][1] - after[key][1]) <= 2, \
                (options, key, before, after)
        assert not errors, errors


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_first_paint_is_accessible(new_page: Any, nexus: ChatNexus, scheme: str) -> None:
    session_id, ids = seed(nexus, ["Question", "Answer with `code`:\n\n```sh\nmake\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |"])
    for options in (DESKTOP, PHONE):
        page = scripts_blocked(new_page(nexus.url, color_scheme=scheme, **options))
        page.goto(f"/s/{session_id}")
        expect(page.locator(f'.session.preview .msg[data-id="{ids[-1]}"]')).to_be_visible()
        assert serious_violations(page) == [], (scheme, options)
        # The page's title names the session before any script sets it.
        assert page.title() == "First paint · Nexus"


def test_the_main_pages_cards_are_drawn_first_and_their_views_take_their_places(new_page: Any,
                                                                               nexus: ChatNexus) -> None:
    chat = nexus.runtime.chat
    for s in chat.list("active", 200)[0]:
        chat.archive(s["id"])
    ids = []
    for i in range(2):
        session_id, messages = seed(nexus, [f"Question {n}" if n % 2 == 0 else f"Answer **{n}** for card {i}:\n\n"
                                            f"```python\nprint({n})\n```" for n in range(30)])
        ids.append((session_id, messages[-1]))
    where = """(ids) => ids.map(([sid, mid]) => {
      const card = document.querySelector(`article.session.card:has(a[href="/s/${sid}"])`);
      const box = (e) => { const r = e.getBoundingClientRect(); return [Math.round(r.top), Math.round(r.left),
                                                                         Math.round(r.height)]; };
      return [box(card), box(card.querySelector(`.msg[data-id="${mid}"]`))];
    })"""
    for options in (DESKTOP, PHONE):
        painted = scripts_blocked(new_page(nexus.url, **options))
        painted.goto("/")
        expect(painted.locator("article.session.card.preview")).to_have_count(2)
        for session_id, last in ids:
            card = painted.locator(f'article.session.card.preview:has(a[href="/s/{session_id}"])')
            expect(card.locator(f'.msg[data-id="{last}"]')).to_be_visible()
        before = painted.evaluate(where, ids)

        page = new_page(nexus.url, **options)
        page.goto("/")
        expect(page.locator("body")).to_have_attribute("data-ready", "1")
        expect(page.locator("article.session.card.preview")).to_have_count(0)
        expect(page.locator("article.session.card")).to_have_count(2)
        after = page.evaluate(where, ids)
        for b, a in zip(before, after, strict=True):
            for box_before, box_after in zip(b, a, strict=True):
                assert all(abs(x - y) <= 2 for x, y in zip(box_before, box_after, strict=True)), (options, before, after)
