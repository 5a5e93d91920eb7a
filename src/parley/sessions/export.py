"""Sessions as training data: OpenAI chat JSONL with the ratings people gave.

Each session becomes one `{"messages": [...], "parley": {...}}` record. Assistant turns carry
their `feedback`; replies that should not be learned (refusals, cut or cancelled replies,
and, with `rated`, every reply not rated that way) get OpenAI's `"weight": 0`, so they stay as
context but get no loss. `parley finetune` reads these records as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from parley.sessions.base import ANY_OWNER, PENDING, OwnerFilter, Rating, Session, SessionStore

NOT_LEARNED = frozenset({"moderation", "off_topic", "cancelled", "length", "error", PENDING})
"""Finish reasons of replies that are never trained on: refusals, incomplete replies (cut,
failed, or still pending: the user's message is stored before its reply is written)."""


def training_record(session: Session, rated: Rating | None = None) -> dict[str, Any] | None:
    """The session in OpenAI chat form, or None when it holds no reply to learn from.

    With `rated`, the conversation ends at its last reply rated so, and only such replies
    are learned.
    """
    turns = [t for t in session.turns if t.text.strip()]
    if rated is not None:
        last = max(
            (i for i, t in enumerate(turns) if t.feedback and t.feedback.rating == rated),
            default=None,
        )
        if last is None:
            return None
        turns = turns[: last + 1]
    while turns and turns[-1].role == "user":  # an unanswered message teaches nothing
        turns.pop()
    messages: list[dict[str, Any]] = []
    learned = 0
    for turn in turns:
        message: dict[str, Any] = {"role": turn.role, "content": turn.text}
        if turn.role == "assistant":
            learn = turn.labels.get("finish_reason") not in NOT_LEARNED
            if rated is not None:
                learn = learn and turn.feedback is not None and turn.feedback.rating == rated
            if not learn:
                message["weight"] = 0
            learned += learn
            if turn.feedback is not None:
                message["feedback"] = turn.feedback.model_dump(mode="json")
        messages.append(message)
    if not learned or not messages or messages[0]["role"] != "user":
        return None
    return {
        "messages": messages,
        "parley": {"session_id": session.id, "title": session.title},
    }


def iter_sessions(store: SessionStore, owner: OwnerFilter = ANY_OWNER) -> Iterator[Session]:
    """Every live session of `owner` (all with ANY_OWNER), newest first."""
    offset, page = 0, 500
    while True:
        summaries = store.list(owner, limit=page, offset=offset)
        for summary in summaries:
            session = store.get(summary.id, owner)
            if session is not None:
                yield session
        if len(summaries) < page:
            return
        offset += page
