"""Webhooks in GraphQL: the types, inputs, payloads and mutations (administrators only)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from clientgraph.db.rows import WebhookDeliveryRow, WebhookRow
from clientgraph.ids import encode_id
from clientgraph.resolvers import webhooks
from clientgraph.resolvers.webhook_events import EVENT_TYPES
from clientgraph.schema.enums import WebhookDeliveryStatus
from clientgraph.schema.payloads import UserError, respond
from clientgraph.schema.types import Info
from strawberry import relay

EVENTS_DESCRIPTION = (
    f"Event types, each one of: {', '.join(EVENT_TYPES)}. Each is the audit action of the "
    "same name."
)


@strawberry.type(
    description="An endpoint of a partner that hears of changes, signed by the Standard "
    "Webhooks specification. Administrators only."
)
class Webhook(relay.Node):
    id: relay.NodeID[str]
    url: str
    description: str
    events: list[str] = strawberry.field(description="The event types it hears of.")
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="Until when the secret before the last rotation still signs; null when "
        "only the current secret does."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: WebhookRow) -> Webhook:
        return cls(
            id=str(row.id),
            url=row.url,
            description=row.description,
            events=list(row.events),
            previous_secret_expires_at=row.previous_secret_expires_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(
    description="One event sent to one webhook, and how its delivery went. Administrators only."
)
class WebhookDelivery(relay.Node):
    id: relay.NodeID[str]
    event_id: str = strawberry.field(
        description="The event's id: the `webhook-id` header and the body's `id`, the same on "
        "every attempt and every redelivery."
    )
    event_type: str
    status: WebhookDeliveryStatus
    attempts: int
    last_response_code: int | None = strawberry.field(
        description="The HTTP status the receiver answered the last attempt with; null if it "
        "did not answer."
    )
    last_error: str | None
    created_at: datetime = strawberry.field(description="When it was queued.")
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = strawberry.field(
        description="When it is next tried; null unless QUEUED."
    )
    delivered_at: datetime | None

    @classmethod
    def from_row(cls, row: WebhookDeliveryRow) -> WebhookDelivery:
        return cls(
            id=str(row.id),
            event_id=str(row.payload.get("eventId", "")),
            event_type=str(row.payload.get("eventType", "")),
            status=WebhookDeliveryStatus(row.status),
            attempts=row.attempts,
            last_response_code=row.last_response_code,
            last_error=row.last_error,
            created_at=row.created_at,
            last_attempt_at=row.last_attempt_at,
            next_attempt_at=row.next_attempt_at,
            delivered_at=row.delivered_at,
        )


@strawberry.input
class CreateWebhookInput:
    url: str = strawberry.field(
        description="http(s); at most 2,048 characters; not a private or loopback address."
    )
    events: list[str] = strawberry.field(description=EVENTS_DESCRIPTION)
    description: str | None = strawberry.field(default=None, description="At most 500 characters.")


@strawberry.input
class UpdateWebhookInput:
    webhook_id: strawberry.ID
    url: str | None = None
    events: list[str] | None = None
    description: str | None = None


@strawberry.input
class DeleteWebhookInput:
    webhook_id: strawberry.ID


@strawberry.input
class RotateWebhookSecretInput:
    webhook_id: strawberry.ID


@strawberry.input
class RedeliverWebhookInput:
    delivery_id: strawberry.ID


@strawberry.type
class CreateWebhookPayload:
    webhook: Webhook | None = None
    secret: str | None = strawberry.field(
        default=None,
        description="`whsec_<base64>`, the key receivers verify signatures with; shown this "
        "once and never again.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateWebhookPayload:
    webhook: Webhook | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteWebhookPayload:
    deleted_webhook_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RotateWebhookSecretPayload:
    webhook: Webhook | None = None
    secret: str | None = strawberry.field(
        default=None,
        description="The new secret, shown this once; the previous one keeps signing beside it "
        "until `webhook.previousSecretExpiresAt`.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RedeliverWebhookPayload:
    delivery: WebhookDelivery | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _issued(issued: webhooks.IssuedSecret) -> dict[str, object]:
    return {"webhook": Webhook.from_row(issued.webhook), "secret": issued.secret}


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(description="Admin: a webhook; the payload shows its secret once.")
    async def create_webhook(self, info: Info, input: CreateWebhookInput) -> CreateWebhookPayload:
        return await respond(
            CreateWebhookPayload,
            webhooks.create_webhook(
                info.context, url=input.url, events=input.events, description=input.description
            ),
            _issued,
        )

    @strawberry.mutation(description="Admin: change a webhook's URL, events or description.")
    async def update_webhook(self, info: Info, input: UpdateWebhookInput) -> UpdateWebhookPayload:
        return await respond(
            UpdateWebhookPayload,
            webhooks.update_webhook(
                info.context,
                webhook_id=str(input.webhook_id),
                url=input.url,
                events=input.events,
                description=input.description,
            ),
            lambda row: {"webhook": Webhook.from_row(row)},
        )

    @strawberry.mutation(description="Admin: delete a webhook and its deliveries.")
    async def delete_webhook(self, info: Info, input: DeleteWebhookInput) -> DeleteWebhookPayload:
        return await respond(
            DeleteWebhookPayload,
            webhooks.delete_webhook(info.context, webhook_id=str(input.webhook_id)),
            lambda deleted: {"deleted_webhook_id": strawberry.ID(encode_id("Webhook", deleted))},
        )

    @strawberry.mutation(
        description="Admin: a new secret, shown once; the previous one keeps signing beside it "
        "for a grace period (24 hours by default)."
    )
    async def rotate_webhook_secret(
        self, info: Info, input: RotateWebhookSecretInput
    ) -> RotateWebhookSecretPayload:
        return await respond(
            RotateWebhookSecretPayload,
            webhooks.rotate_webhook_secret(info.context, webhook_id=str(input.webhook_id)),
            _issued,
        )

    @strawberry.mutation(
        description="Admin: send a delivery's event again, as a new delivery due now, with the "
        "same event id and body."
    )
    async def redeliver_webhook(
        self, info: Info, input: RedeliverWebhookInput
    ) -> RedeliverWebhookPayload:
        return await respond(
            RedeliverWebhookPayload,
            webhooks.redeliver_webhook(info.context, delivery_id=str(input.delivery_id)),
            lambda row: {"delivery": WebhookDelivery.from_row(row)},
        )
