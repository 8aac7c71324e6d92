"""Webhook and WebhookDelivery (`schema.webhooks`): a firm's endpoints, and the outbox rows
that are their deliveries."""

from __future__ import annotations

from typing import Any

from clientgraph.db import derived
from clientgraph.plan.build import Build, Field, Fix, list_fix, planned
from clientgraph.plan.fields import scalars
from sqlalchemy import ColumnElement

WEBHOOK = "Webhook"
DELIVERY = "WebhookDelivery"

planned(WEBHOOK, "id")(scalars.global_id(WEBHOOK))
planned(WEBHOOK, "url")(scalars.column("url"))
planned(WEBHOOK, "description")(scalars.column("description"))
for _graphql, _column in (
    ("createdAt", "created_at"),
    ("updatedAt", "updated_at"),
    ("previousSecretExpiresAt", "previous_secret_expires_at"),
):
    planned(WEBHOOK, _graphql)(scalars.timestamp(_column))


@planned(WEBHOOK, "events")
def events(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return build.json.raw_json(row.events), list_fix(None)


planned(DELIVERY, "id")(scalars.global_id(DELIVERY))
for _graphql, _column in (
    ("status", "status"),
    ("attempts", "attempts"),
    ("lastError", "last_error"),
    ("lastResponseCode", "last_response_code"),
):
    planned(DELIVERY, _graphql)(scalars.column(_column))
for _graphql, _column in (
    ("createdAt", "created_at"),
    ("lastAttemptAt", "last_attempt_at"),
    ("deliveredAt", "delivered_at"),
):
    planned(DELIVERY, _graphql)(scalars.timestamp(_column))


def _payload_text(key: str) -> Any:
    def handler(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
        return row.payload[key].as_string(), None

    return handler


planned(DELIVERY, "eventId")(_payload_text("eventId"))
planned(DELIVERY, "eventType")(_payload_text("eventType"))


@planned(DELIVERY, "nextAttemptAt")
def next_attempt_at(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return build.json.datetime_text(derived.next_attempt_at(row)), None
