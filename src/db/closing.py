"""The one statement a write transaction sends just before its COMMIT.

It asks, in one round trip, what would otherwise take one each:

- on PostgreSQL, the transaction's id (`txid_current_if_assigned()`, None when it wrote
  nothing), which `Database._commit` needs to tell a lost COMMIT's outcome;
- on PostgreSQL, the NOTIFY of the live events the transaction announced (db/live.py);
- each question a writer left for the end of its transaction (`ask_at_close`), such as
  whether the firm has any webhook at all. A question's answer may still write, before the
  COMMIT (the webhook deliveries): the transaction already has its id then, since a writer
  asks only about what it wrote.

Taking the id at the end instead of with BEGIN costs nothing when the closing statement is
sent anyway; the id is the same, taken when the transaction's first write assigned it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from clientgraph.db.live import notified_at_close
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

_QUESTIONS = "clientgraph.closing_questions"


@dataclass(frozen=True, slots=True)
class Question:
    """A column of the closing statement, and what to do with its value before the COMMIT."""

    column: ColumnElement[Any]
    answered: Callable[[AsyncSession, Any], Awaitable[None]]


def ask_at_close(session: AsyncSession, question: Question) -> None:
    """Send `question` in `session`'s closing statement (`close`), and hand it its answer."""
    session.info.setdefault(_QUESTIONS, []).append(question)


async def close(session: AsyncSession) -> int | None:
    """Send the closing statement of `session`'s transaction, if it has anything to ask, and
    act on the answers: the transaction's id on PostgreSQL (None on SQLite, or when it wrote
    nothing)."""
    questions: list[Question] = session.info.pop(_QUESTIONS, [])
    postgres = session.get_bind().dialect.name == "postgresql"
    asked = [question.column for question in questions]
    if postgres:
        notify = notified_at_close(session)
        sent = [] if notify is None else [notify]
        asked = [func.txid_current_if_assigned(), *asked, *sent]
    if not asked:
        return None
    row = (await session.execute(select(*asked))).one()
    first = 1 if postgres else 0
    answers = row[first : first + len(questions)]
    for question, answer in zip(questions, answers, strict=True):
        await question.answered(session, answer)
    return int(row[0]) if postgres and row[0] is not None else None
