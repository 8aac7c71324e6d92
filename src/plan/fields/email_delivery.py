"""EmailDelivery: an outbox row that is an e-mail (`schema.types.EmailDelivery.from_row`)."""

from __future__ import annotations

from typing import Any

from clientgraph.db import derived
from clientgraph.plan.build import Build, Field, Fix, planned
from clientgraph.plan.fields import scalars
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


@planned(TYPE, "nextAttemptAt")
def next_attempt_at(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return build.json.datetime_text(derived.next_attempt_at(row)), None
