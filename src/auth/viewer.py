"""The caller as every resolver sees it, however the request was authenticated: a staff user,
a partner API key acting for its creator, or a client contact in the portal.

What of a caller decides a statement's SQL is its rights, not its ids (`Viewer.shape`): a
statement built for the shape's stand-in (`ViewerShape.stand_in`), whose ids are SQL
parameters, reads as `resolvers.policy`'s predicates do for every caller of that shape, given
the caller's ids (`Viewer.sql_parameters`) at each execution. The planner builds its plans so
(`clientgraph.plan.build`), and the loaders their batch statements (`clientgraph.db.loaders`).
A portal contact's statements are its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from clientgraph.resolvers.enums import Permission, UserRole
from sqlalchemy import Uuid, bindparam

ADMIN_ROLES = frozenset({UserRole.OWNER, UserRole.ADMIN})
NO_USER = uuid.UUID(int=0)
"""The `user_id` of a portal principal: no user has it, so nothing is assigned to it."""
FIRM = "cg_firm"
USER = "cg_user"
API_KEY = "cg_api_key"
"""The SQL parameters of a stand-in's ids."""


@dataclass(frozen=True, slots=True)
class ViewerShape:
    """What of a caller decides a statement's SQL: their rights, not their ids."""

    role: UserRole
    granted: frozenset[Permission]
    by_key: bool
    portal: bool

    def stand_in(self) -> Viewer:
        """A caller of this shape with SQL parameters for ids, so that `resolvers.policy`'s
        predicates come out the same for every caller of the shape, and one statement serves
        them all."""
        return Viewer(
            user_id=bindparam(USER, type_=Uuid),  # type: ignore[arg-type]
            firm_id=bindparam(FIRM, type_=Uuid),  # type: ignore[arg-type]
            name="",
            role=self.role,
            granted=self.granted,
            api_key_id=bindparam(API_KEY, type_=Uuid) if self.by_key else None,  # type: ignore[arg-type]
        )


@dataclass(frozen=True, slots=True)
class Viewer:
    """The authenticated caller: a user, a partner API key (`api_key_id`), or a client
    contact signed in to the portal (`contact_id`).

    A portal principal holds no role and no right and is assigned nothing: every resolver
    refuses it or finds nothing for it, and only the `portal` field serves it (the schema's
    PortalScope refuses every other field before a resolver runs). Its `name` is the
    contact's, for the history of what the contact did themselves.

    For a key, `user_id`, `name` and `role` are its creator's: the key's `…ASSIGNED…` rights
    reach the creator's assigned accounts and history names the creator as the actor. But a
    key never holds a role: it is never an administrator, and `granted` is the key's own
    permissions (already capped to the creator's).
    """

    user_id: uuid.UUID
    firm_id: uuid.UUID
    name: str
    role: UserRole
    granted: frozenset[Permission]
    api_key_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    """The sign-in (refresh-token family) a user token was issued for, if any."""
    contact_id: uuid.UUID | None = None

    @property
    def is_portal(self) -> bool:
        return self.contact_id is not None

    @property
    def actor_id(self) -> uuid.UUID | None:
        """The user history names as the actor; none for a contact acting in the portal."""
        return None if self.is_portal else self.user_id

    @property
    def is_admin(self) -> bool:
        return self.api_key_id is None and not self.is_portal and self.role in ADMIN_ROLES

    @property
    def permissions(self) -> list[Permission]:
        return [permission for permission in Permission if self.has(permission)]

    def has(self, permission: Permission) -> bool:
        return not self.is_portal and (self.is_admin or permission in self.granted)

    @property
    def shape(self) -> ViewerShape:
        return ViewerShape(self.role, self.granted, self.api_key_id is not None, self.is_portal)

    def sql_parameters(self) -> dict[str, Any]:
        """The values of the stand-in's parameters (`ViewerShape.stand_in`) for this caller."""
        return {FIRM: self.firm_id, USER: self.user_id, API_KEY: self.api_key_id}


def user_viewer(
    user_id: uuid.UUID,
    firm_id: uuid.UUID,
    name: str,
    role: str,
    permissions: Iterable[str],
    *,
    session_id: uuid.UUID | None = None,
) -> Viewer:
    """A staff user as the caller, from their stored role and permissions (names no longer
    in Permission are ignored)."""
    return Viewer(
        user_id=user_id,
        firm_id=firm_id,
        name=name,
        role=UserRole(role),
        granted=frozenset(Permission(p) for p in permissions if p in Permission.__members__),
        session_id=session_id,
    )


def portal_viewer(firm_id: uuid.UUID, contact_id: uuid.UUID, name: str) -> Viewer:
    """A client contact signed in to the portal: no user, no role, no right."""
    return Viewer(
        user_id=NO_USER,
        firm_id=firm_id,
        name=name,
        role=UserRole.STAFF,
        granted=frozenset(),
        contact_id=contact_id,
    )


def whole_firm_reader(firm_id: uuid.UUID) -> Viewer:
    """The firm's own view of its rows, as its owner sees them, for what the service reads on
    the firm's behalf rather than a caller's (the subjects of its webhook bodies). It acts
    as nobody (no user has NO_USER) and is never handed to a resolver as a caller."""
    return Viewer(
        user_id=NO_USER, firm_id=firm_id, name="", role=UserRole.OWNER, granted=frozenset()
    )
