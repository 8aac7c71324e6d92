"""The firm's staff."""

from __future__ import annotations

import strawberry
from clientgraph.db.rows import UserRow
from clientgraph.resolvers.policy import effective_permissions
from clientgraph.resolvers.read_model import OWNER_OF_USER
from clientgraph.schema.enums import Permission, UserRole
from clientgraph.schema.related import related
from clientgraph.schema.types.base import TYPES
from strawberry import relay


@strawberry.type(description="A member of the firm's staff.")
class User(relay.Node):
    id: relay.NodeID[str]
    name: str
    email: str
    role: UserRole
    is_active: bool
    row: strawberry.Private[UserRow]

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return cls(
            id=str(row.id),
            name=row.name,
            email=row.email,
            role=UserRole(row.role),
            is_active=row.is_active,
            row=row,
        )

    @strawberry.field(description="Every right the user holds (OWNER and ADMIN hold all).")
    def permissions(self) -> list[Permission]:
        return effective_permissions(self.row.role, self.row.permissions)

    client_owner = related(
        OWNER_OF_USER,
        "ClientOwner",
        description="The user's entry in the address book of client owners.",
        module=TYPES,
    )
