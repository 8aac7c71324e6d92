"""Mutations of the e-mails the service sends."""

from __future__ import annotations

import strawberry
from clientgraph.resolvers import email_deliveries
from clientgraph.schema.inputs import RetryEmailDeliveryInput
from clientgraph.schema.payloads import RetryEmailDeliveryPayload, respond
from clientgraph.schema.types import EmailDelivery, Info


@strawberry.type
class EmailMutation:
    @strawberry.mutation(
        description="Admin: send a FAILED e-mail again; it is queued, due now, with its "
        "attempts counted afresh."
    )
    async def retry_email_delivery(
        self, info: Info, input: RetryEmailDeliveryInput
    ) -> RetryEmailDeliveryPayload:
        return await respond(
            RetryEmailDeliveryPayload,
            email_deliveries.retry_email_delivery(info.context, delivery_id=str(input.delivery_id)),
            lambda row: {"delivery": EmailDelivery.from_row(row)},
        )
