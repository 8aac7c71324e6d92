"""The rights model, in one place: who the caller is, and what they may see and change.

Account visibility is a SQL predicate joined into every account query, so lists, counts,
search, `node` and nested fields all agree on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from clientgraph.auth.viewer import ADMIN_ROLES, Viewer
from clientgraph.db import models
from clientgraph.db.queries import assigned_to
from clientgraph.resolvers.enums import Permission
from clientgraph.resolvers.errors import Forbidden
from sqlalchemy import ColumnElement, and_, exists, false, or_, true
from sqlalchemy.orm import aliased


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


def named_accounts_visible(viewer: Viewer) -> ColumnElement[bool]:
    """An event that names another account (`related_id`) is shown only to callers who may see
    that account."""
    if viewer.has(Permission.VIEW_ALL_ACCOUNTS):
        return true()
    event, account = models.AuditEvent, aliased(models.Account)
    named_account_visible = exists().where(
        account.id == event.related_id, visible_accounts(viewer, account)
    )
    return or_(event.related_id.is_(None), named_account_visible)


def visible_api_keys(viewer: Viewer, key: Any = models.ApiKey) -> ColumnElement[bool]:
    """The API keys a caller may read, wherever a key is reached (`node(id:)`,
    `viewer.apiKey`, `AuditEvent.apiKey`): an owner or administrator every key of the firm, a
    key itself, nobody else any key."""
    firm = key.firm_id == viewer.firm_id
    if viewer.is_admin:
        return firm  # type: ignore[no-any-return]
    if viewer.api_key_id is not None:
        return and_(firm, key.id == viewer.api_key_id)
    return false()


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
