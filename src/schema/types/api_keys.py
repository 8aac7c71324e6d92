"""Partner API keys."""

from __future__ import annotations

from datetime import datetime

import strawberry
from clientgraph.db.rows import ApiKeyRow
from clientgraph.resolvers.policy import given_permissions
from clientgraph.resolvers.read_model import USERS
from clientgraph.schema.enums import Permission
from clientgraph.schema.related import related
from clientgraph.schema.types.base import TYPES
from strawberry import relay


@strawberry.type(
    description="A partner API key: a principal of its own with exactly its permissions, never "
    "a role. Its secret is shown only when it is made."
)
class ApiKey(relay.Node):
    id: relay.NodeID[str]
    name: str
    created_at: datetime
    expires_at: datetime | None = strawberry.field(description="Null: the key does not expire.")
    last_used_at: datetime | None = strawberry.field(
        description="When the key was last used, to the minute; null if never."
    )
    revoked_at: datetime | None
    row: strawberry.Private[ApiKeyRow]

    @classmethod
    def from_row(cls, row: ApiKeyRow) -> ApiKey:
        return cls(
            id=str(row.id),
            name=row.name,
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
            row=row,
        )

    @strawberry.field(description="What the key was given; it never does more than its creator.")
    def permissions(self) -> list[Permission]:
        return given_permissions(self.row.permissions)

    created_by = related(
        USERS,
        "User",
        via="created_by_id",
        required=True,
        description="The user who made the key; it reaches only their accounts.",
        module=TYPES,
    )
    user = related(
        USERS,
        "User",
        via="created_by_id",
        description="The user who made the key.",
        deprecation_reason="A key acts as nobody; use `createdBy`.",
        module=TYPES,
    )
