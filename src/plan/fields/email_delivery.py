"""EmailDelivery: an outbox row that is an e-mail (`schema.types.EmailDelivery.from_row`)."""

from __future__ import annotations

from typing import Any

from clientgraph.plan.build import Build, Counter, Field, Fix, planned
from clientgraph.plan.fields import scalars
from clientgraph.resolvers.email_deliveries import next_attempt_at as next_attempt
from sqlalchemy import ColumnElement

TYPE = "EmailDelivery"

planned(TYPE, "id")(scalars.global_id(TYPE))
for _graphql, _column in (
    ("kind", "kind"),
    ("recipient", "recipient"),
    ("status", "status"),
    ("attempts", "attempts"),
    ("lastError", "last_error"),
):
    planned(TYPE, _graphql)(scalars.column(_column))
for _graphql, _column in (
    ("createdAt", "created_at"),
    ("lastAttemptAt", "last_attempt_at"),
    ("sentAt", "delivered_at"),
):
    planned(TYPE, _graphql)(scalars.timestamp(_column))


def _next_attempt(value: Any, counter: Counter) -> Any:
    status, at = value
    return next_attempt(status, at)


@planned(TYPE, "nextAttemptAt")
def next_attempt_at(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    """By `resolvers.email_deliveries.next_attempt_at`, from the status and the time's text."""
    value = build.json.array([row.status, build.json.datetime_text(row.next_attempt_at)])
    return value, _next_attempt
