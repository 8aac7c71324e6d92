"""The closing statement's questions (db/closing.py) share one name space of parameters: a
question asked twice, or a parameter named as another's, would let one value answer for two,
so asking so is refused at once."""

from __future__ import annotations

from typing import Any

import pytest
from clientgraph.db.closing import Question, ask_at_close
from clientgraph.db.live import PAYLOADS
from sqlalchemy import bindparam, literal
from sqlalchemy.ext.asyncio import AsyncSession


async def _ignored(_: AsyncSession, __: Any) -> None:
    return None


FIRST = Question(literal(1) + bindparam("first_value"), _ignored)
SECOND = Question(literal(2) + bindparam("second_value"), _ignored)


def test_distinct_questions_with_their_own_parameters_are_asked_together() -> None:
    session = AsyncSession()

    ask_at_close(session, FIRST, {"first_value": 1})
    ask_at_close(session, SECOND, {"second_value": 2})


@pytest.mark.parametrize(
    ("question", "parameters"),
    [
        pytest.param(FIRST, {"first_value": 3}, id="the same question again"),
        pytest.param(SECOND, {"first_value": 3}, id="a parameter named as another question's"),
        pytest.param(SECOND, {PAYLOADS: ["x"]}, id="a parameter named as the notify's"),
    ],
)
def test_a_question_that_would_share_a_parameter_is_refused(
    question: Question, parameters: dict[str, Any]
) -> None:
    session = AsyncSession()
    ask_at_close(session, FIRST, {"first_value": 1})

    with pytest.raises(ValueError, match="asked twice, or a parameter named as another"):
        ask_at_close(session, question, parameters)
