"""Mutations of a user's own notifications."""

from __future__ import annotations

import strawberry
from clientgraph.resolvers import notifications
from clientgraph.schema.inputs import MarkNotificationsReadInput
from clientgraph.schema.payloads import MarkNotificationsReadPayload, respond
from clientgraph.schema.types import Info, Notification


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(description="Mark your own notifications as read.")
    async def mark_notifications_read(
        self, info: Info, input: MarkNotificationsReadInput
    ) -> MarkNotificationsReadPayload:
        return await respond(
            MarkNotificationsReadPayload,
            notifications.mark_notifications_read(info.context, ids=[str(i) for i in input.ids]),
            lambda rows: {
                "notifications": [
                    Notification.from_row(row) for row in rows[: info.context.lists.input_list]
                ]
            },
        )
