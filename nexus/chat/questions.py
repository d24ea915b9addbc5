"""Questions the agent asks the user (OpenCode's `question` tool): checking an answer."""

from __future__ import annotations

from typing import Any

from nexus.errors import ServiceError

MAX_ANSWER_CHARS = 2000


class AnswerError(ServiceError, ValueError):
    """The answer does not fit the question; the message is for people."""

    status, code = 400, "bad_answer"


def check_answers(question: dict[str, Any], answers: Any) -> list[list[str]]:
    """One list of labels per question: chosen options, or typed text where the question
    allows it; one label at most unless the question is multiple choice."""
    asked = question.get("questions") or []
    if not isinstance(answers, list) or len(answers) != len(asked):
        raise AnswerError(f"Send one answer per question ({len(asked)}), each a list of labels.")
    clean: list[list[str]] = []
    for number, (q, answer) in enumerate(zip(asked, answers, strict=True), start=1):
        if isinstance(answer, str):
            answer = [answer]
        if not isinstance(answer, list) or not all(isinstance(a, str) for a in answer):
            raise AnswerError(f"Answer {number} must be a list of labels.")
        labels = [a.strip() for a in answer if a.strip()]
        if not labels:
            raise AnswerError(f"Answer {number} is empty: choose an option or dismiss the question.")
        if len(labels) > 1 and not q.get("multiple"):
            raise AnswerError(f"Question {number} takes one answer.")
        options = {o["label"] for o in q.get("options") or []}
        for label in labels:
            if len(label) > MAX_ANSWER_CHARS:
                raise AnswerError(f"Answer {number} is longer than {MAX_ANSWER_CHARS} characters.")
            if label not in options and not q.get("custom", True):
                raise AnswerError(f"{label!r} is not one of the options of question {number}.")
        clean.append(labels)
    return clean


def answer_text(question: dict[str, Any], answers: list[list[str]]) -> str:
    """An answer written as a message, for a question the engine no longer waits on."""
    lines = [f"{q.get('question') or q.get('header')} → {', '.join(a)}"
             for q, a in zip(question.get("questions") or [], answers, strict=False)]
    return "My answers to your question:\n" + "\n".join(lines)
