"""Questions the agent asks (OpenCode's `question` tool): shown, answered, dismissed, and
still waiting after a reload, an OpenCode restart and a Nexus restart. Mapper and answer
checks on their own; everything else against the real OpenCode and the fake model."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx2
import pytest

from nexus.chat.engines.opencode_mapper import OpenCodeMapper
from nexus.chat.questions import AnswerError, check_answers
from nexus.runtime import Runtime
from tests.chat_helpers import collect, ended, status_is, text_of, wait_for_opencode

ASKED = {"id": "que_1", "sessionID": "ses_1", "tool": {"messageID": "msg_1", "callID": "call_1"},
         "questions": [{"header": "Color", "question": "Pick a color?", "multiple": False,
                        "options": [{"label": "Red", "description": "warm"}, {"label": "Blue", "description": "cold"}]}]}


def test_mapper_turns_a_question_into_waiting_and_back() -> None:
    mapper = OpenCodeMapper()
    mapper.status("ses_1", {"type": "busy"})
    out = mapper.on_event({"type": "question.asked", "properties": ASKED})
    assert [t for _, t, _ in out] == ["question.asked", "session.status"]
    question = out[0][2]["question"]
    assert question["questions"][0]["options"][1] == {"label": "Blue", "description": "cold"}
    assert question["questions"][0]["custom"] is True and question["call_id"] == "call_1"
    assert out[1][2] == {"status": "waiting"}
    assert mapper.on_event({"type": "question.asked", "properties": ASKED}) == [], "the same question once"
    out = mapper.on_event({"type": "question.replied",
                           "properties": {"sessionID": "ses_1", "requestID": "que_1", "answers": [["Red"]]}})
    assert out == [("ses_1", "question.answered", {"question_id": "que_1", "answers": [["Red"]], "rejected": False}),
                   ("ses_1", "session.status", {"status": "busy"})]


def test_reconcile_settles_questions_by_their_tool_part() -> None:
    def tool(status: str) -> list[dict]:
        return [{"info": {"id": "msg_1", "role": "assistant", "time": {"created": 1}},
                 "parts": [{"id": "prt_1", "type": "tool", "tool": "question", "callID": "call_1",
                            "state": {"status": status, "input": {}, "metadata": {"answers": [["Blue"]]}}}]}]

    answered = OpenCodeMapper()
    answered.question_asked(ASKED)
    out = answered.reconcile("ses_1", tool("completed"), None, [], [])
    assert ("ses_1", "question.answered", {"question_id": "que_1", "answers": [["Blue"]], "rejected": False}) in out
    dismissed = OpenCodeMapper()
    dismissed.question_asked(ASKED)
    out = dismissed.reconcile("ses_1", tool("error"), None, [], [])
    assert ("ses_1", "question.answered", {"question_id": "que_1", "answers": None, "rejected": True}) in out
    # OpenCode restarted: its question is gone, its tool part still "running", the session idle.
    lost = OpenCodeMapper()
    lost.question_asked(ASKED)
    out = lost.reconcile("ses_1", tool("running"), None, [], [])
    again = [d["question"] for _, t, d in out if t == "question.asked"]
    assert again and again[0]["detached"] is True
    assert not any(t == "session.status" and d["status"] == "idle" for _, t, d in out), "still needs the user"
    # Answered here: OpenCode will never end that tool call, so Nexus does (no "Running" forever).
    out = lost.question_answered("ses_1", "que_1", [["Blue"]], False)
    ends = [d for _, t, d in out if t == "tool.end"]
    assert len(ends) == 1 and ends[0]["message_id"] == "msg_1", out
    assert ends[0]["part"]["status"] == "completed" and "Blue" in ends[0]["part"]["output"]
    assert lost.question_answered("ses_1", "que_1", [["Blue"]], False) == [], "settled once"
    dismissed_here = OpenCodeMapper()
    dismissed_here.question_asked(ASKED)
    dismissed_here.reconcile("ses_1", tool("running"), None, [], [])
    out = dismissed_here.question_answered("ses_1", "que_1", None, True)
    assert [d["part"]["status"] for _, t, d in out if t == "tool.end"] == ["error"]


def test_answers_are_checked_against_the_question() -> None:
    question = {"questions": [{"question": "a?", "options": [{"label": "Red"}, {"label": "Blue"}], "multiple": False,
                               "custom": True},
                              {"question": "b?", "options": [{"label": "X"}, {"label": "Y"}], "multiple": True,
                               "custom": False}]}
    assert check_answers(question, [["Red"], ["X", "Y"]]) == [["Red"], ["X", "Y"]]
    assert check_answers(question, ["my own words", ["Y"]]) == [["my own words"], ["Y"]]
    for bad in ([["Red"]], [["Red", "Blue"], ["X"]], [["Red"], ["Z"]], [[], ["X"]], "Red", [["Red"], [3]]):
        with pytest.raises(AnswerError):
            check_answers(question, bad)


# ----- the real OpenCode ---------------------------------------------------------------------

pytest_opencode = pytest.mark.opencode


@pytest.fixture
def live_questions(opencode_settings: dict, no_leftover_processes, make_runtime, serve_runtime):
    rt = make_runtime(opencode_settings, **{"server.autostart": True, "restart.initial_delay": 0.2})
    server = serve_runtime(rt)
    rt.start()
    wait_for_opencode(rt)
    with httpx2.Client(base_url=server.url, timeout=20, trust_env=False) as http:
        yield rt, http


def ask(rt: Runtime, text: str = "QUESTION:Pick a color?"):
    session = rt.chat.create(title="q")
    client = rt.chat.hub.client()
    rt.chat.follow(client, session["id"], None, None)
    rt.chat.prompt(session["id"], text=text)
    events = collect(client, lambda e: e.type == "question.asked")
    collect(client, status_is("waiting"))
    return session, client, events[-1].data["question"]


@pytest_opencode
def test_a_question_is_answered_over_rest_and_bad_answers_change_nothing(live_questions) -> None:
    rt, http = live_questions
    session, client, question = ask(rt, 'QUESTION:[{"header": "Color", "question": "Pick colors?", "multiple": true, '
                                        '"options": [{"label": "Red", "description": "warm"}, '
                                        '{"label": "Blue", "description": "cold"}]}]')
    sid, qid = session["id"], question["id"]
    assert question["questions"][0]["multiple"] is True and question["questions"][0]["header"] == "Color"
    got = http.get(f"/api/sessions/{sid}").json()
    assert got["status"] == "waiting" and got["pending_questions"] == 1
    # A reload: the page's snapshot carries the question.
    snapshot = rt.chat.initial_snapshot(sid)["event"]["data"]
    assert [q["id"] for q in snapshot["questions"]] == [qid]

    url = f"/api/sessions/{sid}/questions/{qid}"
    for body, status in (({"answers": [["Red"], ["Blue"]]}, 400), ({"answers": "Red"}, 400), ({}, 400),
                         ({"reject": "yes"}, 400)):
        response = http.post(url, json=body)
        assert response.status_code == status and response.json()["error"]["message"], body
    assert http.post(f"/api/sessions/{sid}/questions/que_gone", json={"answers": [["Red"]]}).status_code == 409
    assert [q["id"] for q in rt.supervisor.client.json("GET", "/question")] == [qid], "OpenCode still waits: nothing changed"

    assert http.post(url, json={"answers": [["Red", "Blue"]]}).status_code == 200
    events = collect(client, ended())
    answered = [e.data for e in events if e.type == "question.answered"]
    assert answered == [{"question_id": qid, "answers": [["Red", "Blue"]], "rejected": False}]
    assert '"Pick colors?"="Red, Blue"' in text_of(events)
    collect(client, status_is("idle"))
    again = http.post(url, json={"answers": [["Red"]]})
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_pending"
    assert rt.chat.pending.items(sid, "question") == []


@pytest_opencode
def test_a_dismissed_question_tells_the_agent(live_questions) -> None:
    rt, http = live_questions
    session, client, question = ask(rt)
    assert http.post(f"/api/sessions/{session['id']}/questions/{question['id']}",
                     json={"reject": True}).status_code == 200
    events = collect(client, lambda e: e.type == "question.answered")
    assert events[-1].data == {"question_id": question["id"], "answers": None, "rejected": True}
    tool = collect(client, lambda e: e.type == "tool.end")[-1].data["part"]
    assert tool["tool"] == "question" and tool["status"] == "error"
    assert rt.supervisor.client.json("GET", "/question") == []


@pytest_opencode
def test_an_unanswered_question_survives_an_opencode_restart_and_a_nexus_restart(
        tmp_path: Path, opencode_settings: dict, no_leftover_processes, make_runtime) -> None:
    rt = make_runtime()
    rt.settings.update({**opencode_settings, "server.autostart": True, "restart.initial_delay": 0.2})
    rt.start()
    try:
        wait_for_opencode(rt)
        session, client, question = ask(rt)
        sid = session["id"]
        old_pid = rt.supervisor.pid
        os.kill(old_pid, signal.SIGKILL)
        wait_for_opencode(rt, 60, not_pid=old_pid)
        detached = collect(client, lambda e: e.type == "question.asked").pop().data["question"]
        assert detached["id"] == question["id"] and detached["detached"] is True
        assert rt.chat.get(sid)["status"] == "waiting", "still needs the user after OpenCode restarted"
    finally:
        rt.stop()

    again = make_runtime()
    again.start()
    try:
        wait_for_opencode(again)
        got = again.chat.get(sid)
        snapshot = again.chat.initial_snapshot(sid)["event"]["data"]
        assert got["status"] == "waiting" and [q["id"] for q in snapshot["questions"]] == [question["id"]]
        client = again.chat.hub.client()
        again.chat.follow(client, sid, None, None)
        again.chat.answer_question(sid, question["id"], [["Yes"]])
        events = collect(client, ended())
        assert "Pick a color? → Yes" in text_of(events), "the answer went to the agent as a message"
        assert again.chat.get(sid)["pending_questions"] == 0
        asked = [p for m in again.chat.messages(sid)["messages"] for p in m["parts"]
                 if p["kind"] == "tool" and p.get("tool") == "question"]
        assert asked and all(p["status"] in ("completed", "error") for p in asked), "no question tool left running"
    finally:
        again.stop()
