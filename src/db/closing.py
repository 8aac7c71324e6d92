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

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from clientgraph.db.live import NOTIFIED, PAYLOADS, notified_at_close
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

_QUESTIONS = "clientgraph.closing_questions"
STATEMENTS_KEPT = 64
"""Closing statements kept per worker, one per set of questions asked together."""


@dataclass(frozen=True, slots=True, eq=False)
class Question:
    """A column of the closing statement, and what to do with its value before the COMMIT.
    Declared once, its values named parameters given with each asking (`ask_at_close`): the
    closing statement of each set of questions is then built once (`_statement`)."""

    column: ColumnElement[Any]
    answered: Callable[[AsyncSession, Any], Awaitable[None]]


def ask_at_close(session: AsyncSession, question: Question, parameters: Mapping[str, Any]) -> None:
    """Send `question`, its parameters given `parameters`, in `session`'s closing statement
    (`close`), and hand it its answer. The statement's parameters are one name space, so a
    question is asked once a transaction, and its parameters are named apart from the other
    questions' and the NOTIFY's (else one value would answer for two)."""
    asking: list[tuple[Question, Mapping[str, Any]]] = session.info.setdefault(_QUESTIONS, [])
    taken = {PAYLOADS}.union(*(given.keys() for _, given in asking))
    if any(asked is question for asked, _ in asking) or not taken.isdisjoint(parameters):
        raise ValueError("a closing question asked twice, or a parameter named as another's")
    asking.append((question, parameters))


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def _statement(questions: tuple[Question, ...], postgres: bool, notify: bool) -> Select[Any]:
    asked = [question.column for question in questions]
    if postgres:
        asked = [func.txid_current_if_assigned(), *asked, *([NOTIFIED] if notify else [])]
    return select(*asked)


async def close(session: AsyncSession) -> int | None:
    """Send the closing statement of `session`'s transaction, if it has anything to ask, and
    act on the answers: the transaction's id on PostgreSQL (None on SQLite, or when it wrote
    nothing)."""
    asking: list[tuple[Question, Mapping[str, Any]]] = session.info.pop(_QUESTIONS, [])
    postgres = session.get_bind().dialect.name == "postgresql"
    if not asking and not postgres:
        return None
    questions = tuple(question for question, _ in asking)
    parameters = {name: value for _, given in asking for name, value in given.items()}
    notify = notified_at_close(session) if postgres else None
    statement = _statement(questions, postgres, notify is not None)
    row = (await session.execute(statement, {**parameters, **(notify or {})})).one()
    first = 1 if postgres else 0
    answers = row[first : first + len(questions)]
    for question, answer in zip(questions, answers, strict=True):
        await question.answered(session, answer)
    return int(row[0]) if postgres and row[0] is not None else None
