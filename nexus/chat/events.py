"""The normalized chat event model: the only language between engines and the UI.

Engines (OpenCode, Anthropic) translate their own wire formats into these events; the UI,
the transcript store, search, analytics and exports know nothing else. Every event gets a
per-session sequence number when it enters the hub, so a client that reconnects with the
last number it saw receives exactly what it missed.

Event types and their `data`:

  session.updated     {session}                      title, agent, model, state, totals changed
  session.status      {status, attempt?, message?, next_at?}
                      status: idle | busy | retry | waiting (for a permission answer)
  message.start       {message}                      a user or assistant message begins
  part.update         {message_id, part}             a part's complete current state (authoritative)
  text.delta          {message_id, part_id, delta}   streamed text appended to a text part
  reasoning.delta     {message_id, part_id, delta}   streamed text appended to a reasoning part
  tool.start          {message_id, part}             a tool call appeared (part.kind == "tool")
  tool.update         {message_id, part}             its input or partial output changed
  tool.end            {message_id, part}             completed or error
  permission.asked    {permission}                   the agent waits for allow once / always / deny
  permission.answered {permission_id, reply}         reply: once | always | reject
  question.asked      {question}                     the agent asks the user and waits (OpenCode's
                                                     `question` tool); see "A question" below
  question.answered   {question_id, answers, rejected}  answered (answers: one list of chosen or typed
                                                     labels per question) or dismissed (rejected)
  queue.updated       {queue}                        messages waiting to be sent, oldest first:
                                                     [{id, text, files: [{name, mime}], agent, model,
                                                     queued_at}] (nexus/chat/queue.py)
  usage               {message_id, tokens, cost}     a message's token and cost counters
  message.end         {message_id, finish, error?, completed_at}
  error               {message, code, message_id?}   something failed; `message` is for people
  snapshot            {session, messages, permissions, questions, queue, status, has_more}
                      sent instead of a replay when a client is too far behind
  todo.updated        {todos}                        the agent's to-do list, whole (also session.todos)
  message.removed     {message_id}                   an undone message was dropped for good

A session carries, besides its title and counters: `todos` [{content, status, priority}]
(status: pending | in_progress | completed | cancelled), `revert` {message_id, diff} while
the session is undone to before that message (it and later messages show as undone, and
can be redone) or None, and `parent_id`, the session whose agent started it as a sub-agent.

A message: {id, role, created_at, completed_at, agent, model, finish, error, tokens, cost, parts}
A part has `id` and `kind` plus, by kind:
  text / reasoning  {text, synthetic?}
  tool              {tool, call_id, status (pending|running|completed|error), input, output,
                     error, title, metadata, started_at, ended_at}
  file              {mime, filename, url}
  patch             {files, hash}
  compaction        {auto}          the conversation before it was summarized; the summary follows
                                    as an assistant message with `summary: true`
  diff              {files: [{file, patch, additions, deletions, status}]}  what a user
                    message's turn changed in the files (id "<message id>-diff")
  tool "task"       also `child_session`: the Nexus session of the sub-agent it runs
A question: {id, questions: [{header, question, options: [{label, description}], multiple, custom}],
             call_id, message_id, detached?}. `detached`: the engine lost it (OpenCode restarted
             while it waited); answering it sends the answer as the next message instead.
Tokens: {input, output, reasoning, cache_read, cache_write}. Times: UNIX seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, NotRequired, Required

# typing_extensions, not typing: pydantic validates typing_extensions.TypedDict on Python 3.11
from typing_extensions import TypedDict

from nexus import wire

SESSION_UPDATED = "session.updated"
SESSION_STATUS = "session.status"
MESSAGE_START = "message.start"
PART_UPDATE = "part.update"
TEXT_DELTA = "text.delta"
REASONING_DELTA = "reasoning.delta"
TOOL_START = "tool.start"
TOOL_UPDATE = "tool.update"
TOOL_END = "tool.end"
PERMISSION_ASKED = "permission.asked"
PERMISSION_ANSWERED = "permission.answered"
QUESTION_ASKED = "question.asked"
QUESTION_ANSWERED = "question.answered"
QUEUE_UPDATED = "queue.updated"
USAGE = "usage"
MESSAGE_END = "message.end"
ERROR = "error"
SNAPSHOT = "snapshot"
TODO_UPDATED = "todo.updated"
MESSAGE_REMOVED = "message.removed"

EVENT_TYPES = frozenset({SESSION_UPDATED, SESSION_STATUS, MESSAGE_START, PART_UPDATE, TEXT_DELTA, REASONING_DELTA,
                         TOOL_START, TOOL_UPDATE, TOOL_END, PERMISSION_ASKED, PERMISSION_ANSWERED, USAGE,
                         MESSAGE_END, ERROR, SNAPSHOT, QUESTION_ASKED, QUESTION_ANSWERED,
                         QUEUE_UPDATED, TODO_UPDATED, MESSAGE_REMOVED})

STATUSES = ("idle", "busy", "retry", "waiting")
PERMISSION_REPLIES = ("once", "always", "reject")


def empty_tokens() -> dict[str, int]:
    return {"input": 0, "output": 0, "reasoning": 0, "cache_read": 0, "cache_write": 0}


@dataclass(frozen=True)
class ChatEvent:
    session_id: str
    seq: int
    type: str
    data: dict[str, Any]
    at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return {"session": self.session_id, "seq": self.seq, "type": self.type, "at": round(self.at, 3),
                "data": self.data}

    @cached_property
    def wire(self) -> str:
        """The JSON text sent to clients, made once however many clients receive it."""
        return wire.dumps(self.to_json())


# ----- each event type's payload, declared (checked at emit: nexus/chat/event_check.py) ----------
# Objects the engines fill in full (a session's fields, a message, a permission, a question) are
# checked for what identifies them; their other fields are the engines' (see the docstring).


class Identified(TypedDict, total=False):
    """A message, permission or question: an `id` plus its own fields."""

    id: Required[str]


class PartShape(TypedDict, total=False):
    """A part: `id`, `kind` plus the fields of its kind."""

    id: Required[str]
    kind: Required[str]


class SessionUpdatedData(TypedDict):
    session: dict[str, Any]  # the fields that changed


class SessionStatusData(TypedDict):
    status: Literal["idle", "busy", "retry", "waiting"]
    attempt: NotRequired[int | None]
    message: NotRequired[str | None]
    next_at: NotRequired[float | None]


class MessageStartData(TypedDict):
    message: Identified


class PartData(TypedDict):
    """part.update, tool.start, tool.update, tool.end."""

    message_id: str
    part: PartShape


class DeltaData(TypedDict):
    """text.delta, reasoning.delta."""

    message_id: str
    part_id: str
    delta: str


class PermissionAskedData(TypedDict):
    permission: Identified


class PermissionAnsweredData(TypedDict):
    permission_id: str
    reply: Literal["once", "always", "reject"] | None  # None: the engine dropped it unanswered


class QuestionAskedData(TypedDict):
    question: Identified


class QuestionAnsweredData(TypedDict):
    question_id: str
    answers: list[list[str]] | None
    rejected: bool


class QueueUpdatedData(TypedDict):
    queue: list[Identified]


class UsageData(TypedDict):
    message_id: str
    tokens: dict[str, int | float]
    cost: float | None
    estimated: NotRequired[bool]  # the Anthropic engine counted output tokens from the text's length


class MessageEndData(TypedDict):
    message_id: str
    finish: str | None
    error: NotRequired[dict[str, Any] | None]
    completed_at: NotRequired[float | None]


class ErrorData(TypedDict):
    message: str
    code: NotRequired[str | None]
    message_id: NotRequired[str | None]


class SnapshotData(TypedDict):
    session: dict[str, Any]
    messages: list[Identified]
    permissions: list[Identified]
    questions: list[Identified]
    queue: list[Identified]
    status: dict[str, Any]
    has_more: bool


class TodoUpdatedData(TypedDict):
    todos: list[dict[str, Any]]


class MessageRemovedData(TypedDict):
    message_id: str


PAYLOADS: dict[str, type] = {
    SESSION_UPDATED: SessionUpdatedData, SESSION_STATUS: SessionStatusData, MESSAGE_START: MessageStartData,
    PART_UPDATE: PartData, TOOL_START: PartData, TOOL_UPDATE: PartData, TOOL_END: PartData,
    TEXT_DELTA: DeltaData, REASONING_DELTA: DeltaData, PERMISSION_ASKED: PermissionAskedData,
    PERMISSION_ANSWERED: PermissionAnsweredData, QUESTION_ASKED: QuestionAskedData,
    QUESTION_ANSWERED: QuestionAnsweredData, QUEUE_UPDATED: QueueUpdatedData, USAGE: UsageData,
    MESSAGE_END: MessageEndData, ERROR: ErrorData, SNAPSHOT: SnapshotData, TODO_UPDATED: TodoUpdatedData,
    MESSAGE_REMOVED: MessageRemovedData,
}
