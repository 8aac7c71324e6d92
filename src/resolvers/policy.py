"""The rights model, in one place: who the caller is, and what they may see and change.

Account visibility is a SQL predicate joined into every account query, so lists, counts,
search, `node` and nested fields all agree on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from clientgraph.db import models
from clientgraph.db.queries import assigned_to
from clientgraph.resolvers.enums import Permission, UserRole
from clientgraph.resolvers.errors import Forbidden
from sqlalchemy import ColumnElement, and_, exists, false, true
from sqlalchemy.orm import aliased

ADMIN_ROLES = frozenset({UserRole.OWNER, UserRole.ADMIN})
NO_USER = uuid.UUID(int=0)
"""The `user_id` of a portal principal: no user has it, so nothing is assigned to it."""


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


def effective_permissions(role: str, granted: Iterable[str]) -> list[Permission]:
    """Every right a user holds: all of them for OWNER/ADMIN, exactly the granted ones else."""
    held = set(Permission) if role in ADMIN_ROLES else set(granted)
    return [permission for permission in Permission if permission in held]


def given_permissions(given: Iterable[str]) -> list[Permission]:
    """The permissions a key was given, in the enum's order (`ApiKey.permissions` on both
    read paths)."""
    held = set(given)
    return [permission for permission in Permission if permission.value in held]


def key_permissions(
    given: Iterable[str], creator_role: str, creator_granted: Iterable[str]
) -> frozenset[Permission]:
    """What a key may do: the permissions it was given that its creator still holds, so a
    key never reaches further than its creator, even after the creator loses rights."""
    wanted = set(given)
    creator = effective_permissions(creator_role, creator_granted)
    return frozenset(permission for permission in creator if permission in wanted)


def require_admin(viewer: Viewer) -> None:
    """OWNER/ADMIN-only actions: refused to every other user, to every API key and to every
    portal contact."""
    if viewer.is_portal:
        raise Forbidden("A client portal token may not do this.")
    if viewer.api_key_id is not None:
        raise Forbidden("An API key may not do this: only an owner or administrator may.")
    if not viewer.is_admin:
        raise Forbidden("Only an owner or administrator of the firm may do this.")


def require(viewer: Viewer, permission: Permission) -> None:
    if viewer.is_portal:
        raise Forbidden("A client portal token may not do this.")
    if not viewer.has(permission):
        raise Forbidden(f"You need the {permission.value} right to do this.")


@dataclass(frozen=True, slots=True)
class Reach:
    """How far one kind of access (seeing, editing) goes for a caller, and through which
    right: every account of the firm, only those assigned to them, or none (`right` None)."""

    right: Permission | None
    everywhere: bool

    def over(self, viewer: Viewer, account: Any) -> ColumnElement[bool]:
        if self.everywhere:
            return true()
        if self.right is not None:
            return assigned_to(viewer.user_id, account)
        return false()


def _reach(viewer: Viewer, all_right: Permission, assigned_right: Permission) -> Reach:
    if viewer.has(all_right):
        return Reach(all_right, everywhere=True)
    if viewer.has(assigned_right):
        return Reach(assigned_right, everywhere=False)
    return Reach(None, everywhere=False)


def view_reach(viewer: Viewer) -> Reach:
    return _reach(viewer, Permission.VIEW_ALL_ACCOUNTS, Permission.VIEW_ASSIGNED_ACCOUNTS)


def edit_reach(viewer: Viewer) -> Reach:
    return _reach(viewer, Permission.EDIT_ALL_ACCOUNTS, Permission.EDIT_ASSIGNED_ACCOUNTS)


def visible_accounts(viewer: Viewer, account: Any = models.Account) -> ColumnElement[bool]:
    """Accounts of the caller's firm that the caller may see."""
    return and_(account.firm_id == viewer.firm_id, view_reach(viewer).over(viewer, account))


def editable_accounts(viewer: Viewer, account: Any = models.Account) -> ColumnElement[bool]:
    """Of the visible accounts, those the caller may change."""
    return edit_reach(viewer).over(viewer, account)


def _linked_to(viewer: Viewer, reach: Any) -> ColumnElement[bool]:
    """The contact is linked to an account of the firm for which `reach(account)` holds."""
    account = aliased(models.Account)
    link = models.AccountContact
    return exists().where(
        link.firm_id == models.Contact.firm_id,
        link.contact_id == models.Contact.id,
        account.firm_id == link.firm_id,
        account.id == link.account_id,
        reach(viewer, account),
    )


def visible_contacts(viewer: Viewer) -> ColumnElement[bool]:
    """Every contact of the firm for a viewer of all accounts; else those linked to an
    account the caller sees."""
    firm = models.Contact.firm_id == viewer.firm_id
    if viewer.has(Permission.VIEW_ALL_ACCOUNTS):
        return firm
    return and_(firm, _linked_to(viewer, visible_accounts))


def editable_contacts(viewer: Viewer) -> ColumnElement[bool]:
    """Every contact for EDIT_ALL_ACCOUNTS; else those linked to an account the caller may
    change (and see)."""
    if viewer.has(Permission.EDIT_ALL_ACCOUNTS):
        return true()

    def reach(viewer: Viewer, account: Any) -> ColumnElement[bool]:
        return and_(visible_accounts(viewer, account), editable_accounts(viewer, account))

    return _linked_to(viewer, reach)
