"""The history of changes."""

from __future__ import annotations

from datetime import datetime

import strawberry
from clientgraph.db.rows import AuditEventRow
from clientgraph.ids import encode_id
from clientgraph.resolvers import audit_feed
from clientgraph.resolvers.read_model import API_KEYS, USERS
from clientgraph.schema.related import related
from clientgraph.schema.types.base import TYPES, Info
from strawberry import relay


@strawberry.type(description="A change to one field: its value before and after, as text.")
class FieldChange:
    field: str
    from_: str | None = strawberry.field(name="from")
    to: str | None


@strawberry.type(description="One change made by someone, as kept in the history.")
class AuditEvent(relay.Node):
    id: relay.NodeID[str]
    action: str
    occurred_at: datetime
    row: strawberry.Private[AuditEventRow]

    @classmethod
    def from_row(cls, row: AuditEventRow) -> AuditEvent:
        return cls(id=str(row.id), action=row.action, occurred_at=row.occurred_at, row=row)

    @strawberry.field(
        description="What kind of object changed: account, contact, client_owner, user, "
        "api_key, webhook, email_delivery or firm."
    )
    def subject_type(self) -> str:
        return self.row.subject_type

    @strawberry.field(
        description="The id of the object that changed (it may have been deleted since)."
    )
    def subject_id(self) -> strawberry.ID:
        return strawberry.ID(
            encode_id(audit_feed.SUBJECT_TYPES[self.row.subject_type], self.row.subject_id)
        )

    actor = related(
        USERS,
        "User",
        via="actor_id",
        description="Who made the change (for a change made through an API key, its creator); "
        "kept (with their name) if deleted since.",
        module=TYPES,
    )
    api_key = related(
        API_KEYS,
        "ApiKey",
        via="actor_api_key_id",
        description="The API key the change was made through; null if none.",
        module=TYPES,
    )

    @strawberry.field(description="The fields changed, with their values before and after.")
    def changes(self, info: Info) -> list[FieldChange]:
        return [
            FieldChange(field=change["field"], from_=change["from"], to=change["to"])
            for change in self.row.changes[: info.context.lists.audit_changes]
        ]
