"""The relations of the graph, each declared once: its rows, how they join their parent, the
caller's visibility (`policy`), their order (`db.orders`) and their limit (`ListLimits`).

The DataLoaders batch each by parent ids (`Loaders.of`), the planner embeds each as a
correlated subquery (`plan.build.Build.related`); `schema.related.related` makes a GraphQL
field of one. Every function here takes its models' aliases from `alias`: fresh ones for the
planner, so that one relation may be embedded inside itself (related accounts of related
accounts), the relation's kept ones for the loaders (`Relation.rows_alone`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models, orders
from clientgraph.db.relation import Alias, Related, Relation, Shape, column_shape, row_shape
from clientgraph.db.rows import (
    AccountContactRow,
    AccountRow,
    ApiKeyRow,
    AuditEventRow,
    ClientOwnerRow,
    ContactRow,
    CustomFieldDefinitionRow,
    CustomFieldValueRow,
    FirmRow,
    NotificationRow,
    UserRow,
)
from clientgraph.list_limits import ListLimits
from clientgraph.resolvers.policy import (
    named_accounts_visible,
    visible_accounts,
    visible_api_keys,
    visible_contacts,
)
from sqlalchemy import ColumnElement, and_, select


def live_users(viewer: Viewer, user: Any = models.User) -> ColumnElement[bool]:
    """Users of the caller's firm who are not deleted."""
    return and_(user.firm_id == viewer.firm_id, user.deleted_at.is_(None))


def _by_id(model: Any, visible: Any) -> Any:
    """The rows of `model` whose id is the parent's key, where `visible(viewer, alias)`."""

    def rows(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
        entity = alias(model)
        statement = select().select_from(entity).where(visible(viewer, entity))
        return Related(statement, entity, entity.id, orders.Order.of(entity.id))

    return rows


def in_firm(viewer: Viewer, entity: Any) -> ColumnElement[bool]:
    """Rows of the caller's firm (of a model, or an alias, with a firm_id)."""
    return entity.firm_id == viewer.firm_id  # type: ignore[no-any-return]


def own_firm(viewer: Viewer, firm: Any) -> ColumnElement[bool]:
    """The caller's own firm (a row of firms, or an alias)."""
    return firm.id == viewer.firm_id  # type: ignore[no-any-return]


FIRMS = Relation("firms", _by_id(models.Firm, own_firm), row_shape(FirmRow), unique=True)
"""The caller's own firm by id; no other."""

ACCOUNTS = Relation(
    "accounts", _by_id(models.Account, visible_accounts), row_shape(AccountRow), unique=True
)
"""An account by id, if the caller may see it."""

USERS = Relation("users", _by_id(models.User, in_firm), row_shape(UserRow), unique=True)
"""A user of the firm by id, deleted ones too (history keeps who acted)."""

LIVE_USERS = Relation(
    "live_users", _by_id(models.User, live_users), row_shape(UserRow), unique=True
)
"""A user of the firm by id, unless deleted."""

API_KEYS = Relation(
    "api_keys", _by_id(models.ApiKey, visible_api_keys), row_shape(ApiKeyRow), unique=True
)
"""A key by id, if the caller may read it (`policy.visible_api_keys`): an administrator any
of the firm's, a key itself, nobody else any."""


def _visible_contacts(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    contact = models.Contact
    statement = select().select_from(contact).where(visible_contacts(viewer))
    return Related(statement, contact, contact.id, orders.Order.of(contact.id))


CONTACTS = Relation("contacts", _visible_contacts, row_shape(ContactRow), unique=True)
"""A contact by id, if the caller may see it. Not aliased: `policy.visible_contacts` reads the
contacts' table, and a contact by id is read only at the root."""

OWNERS = Relation(
    "owners", _by_id(models.ClientOwner, in_firm), row_shape(ClientOwnerRow), unique=True
)
"""An entry of the address book by id."""


def _owner_of_user(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    entry = alias(models.ClientOwner)
    statement = select().select_from(entry).where(entry.firm_id == viewer.firm_id)
    return Related(statement, entry, entry.user_id, orders.owners_by_name(entry))


OWNER_OF_USER = Relation("owner_of_user", _owner_of_user, row_shape(ClientOwnerRow), unique=True)
"""A user's entry in the address book (a user is in it at most once)."""


def _team_members(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    member, user = alias(models.AccountTeamMember), alias(models.User)
    statement = (
        select()
        .select_from(member)
        .join(user, and_(user.firm_id == member.firm_id, user.id == member.user_id))
        .where(live_users(viewer, user))
    )
    return Related(
        statement, user, member.account_id, orders.users_by_name(user), lists.team_members
    )


TEAM_MEMBERS = Relation("team_members", _team_members, row_shape(UserRow))
"""The users on an account's team, by name."""


def _tags(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    tag = alias(models.AccountTag)
    statement = select().select_from(tag).where(tag.firm_id == viewer.firm_id)
    return Related(
        statement, tag, tag.account_id, orders.tags_in_order(tag), lists.tags_per_account
    )


TAGS = Relation("tags", _tags, column_shape(lambda tag: tag.tag))
"""An account's tags, sorted."""


def _contact_emails(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    email = alias(models.ContactEmail)
    statement = select().select_from(email).where(email.firm_id == viewer.firm_id)
    return Related(
        statement, email, email.contact_id, orders.emails_in_order(email), lists.contact_emails
    )


CONTACT_EMAILS = Relation("contact_emails", _contact_emails, column_shape(lambda e: e.email))
"""A contact's e-mails as entered, the primary one first."""

_LINK_COLUMNS = ("account_id", "description", "is_commercial", "is_operational", "linked_at")
_CONTACT_SHAPE = row_shape(ContactRow)


def _link_columns(entity: Any) -> list[ColumnElement[Any]]:
    link, contact = entity
    return [getattr(link, name) for name in _LINK_COLUMNS] + list(_CONTACT_SHAPE.columns(contact))


def _link_row(values: Sequence[Any]) -> AccountContactRow:
    account_id, description, is_commercial, is_operational, linked_at = values[:5]
    return AccountContactRow(
        account_id=account_id,
        description=description,
        is_commercial=is_commercial,
        is_operational=is_operational,
        linked_at=linked_at,
        contact=_CONTACT_SHAPE.make(values[5:]),
    )


LINK_SHAPE = Shape(_link_columns, _link_row)
"""A link's rows are the pair (link, the linked contact), as `AccountContact`'s handlers read."""


def _account_contacts(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    link, contact = alias(models.AccountContact), alias(models.Contact)
    statement = (
        select()
        .select_from(link)
        .join(contact, and_(contact.firm_id == link.firm_id, contact.id == link.contact_id))
        .where(link.firm_id == viewer.firm_id)
    )
    return Related(
        statement,
        (link, contact),
        link.account_id,
        orders.contacts_by_name(contact),
        lists.account_contacts,
    )


ACCOUNT_CONTACTS = Relation("account_contacts", _account_contacts, LINK_SHAPE)
"""An account's links to its contacts, by the contact's last, then first name."""


def _contact_links(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    link, contact = alias(models.AccountContact), alias(models.Contact)
    account = alias(models.Account)
    statement = (
        select()
        .select_from(link)
        .join(contact, and_(contact.firm_id == link.firm_id, contact.id == link.contact_id))
        .join(account, and_(account.firm_id == link.firm_id, account.id == link.account_id))
        .where(visible_accounts(viewer, account))
    )
    return Related(
        statement,
        (link, contact),
        link.contact_id,
        orders.accounts_by_name(account),
        lists.account_contacts,
    )


CONTACT_LINKS = Relation("contact_links", _contact_links, LINK_SHAPE)
"""A contact's links to the accounts the caller sees, by account name."""


def _related_accounts(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    """The distinct pairs (account, other account sharing a contact), joined to the other
    account where the caller sees it. The parent's key restricts `source` from outside the
    DISTINCT; both databases push that restriction into it (see the README)."""
    link, other_link = alias(models.AccountContact), alias(models.AccountContact)
    pairs = (
        select(link.account_id.label("source"), other_link.account_id.label("target"))
        .join(
            other_link,
            and_(
                other_link.firm_id == link.firm_id,
                other_link.contact_id == link.contact_id,
                other_link.account_id != link.account_id,
            ),
        )
        .where(link.firm_id == viewer.firm_id)
        .distinct()
        .subquery()
    )
    other = alias(models.Account)
    statement = (
        select()
        .select_from(pairs)
        .join(other, and_(other.firm_id == viewer.firm_id, other.id == pairs.c.target))
        .where(visible_accounts(viewer, other))
    )
    return Related(
        statement,
        other,
        pairs.c.source,
        orders.accounts_by_name(other),
        lists.related_accounts,
        cut_in_sql=True,
    )


RELATED_ACCOUNTS = Relation("related_accounts", _related_accounts, row_shape(AccountRow))
"""Other accounts the caller sees that share a contact with an account, by name; cut in SQL:
two accounts sharing contacts with thousands of others must not load thousands of rows."""


def _owned_accounts(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    account = alias(models.Account)
    statement = select().select_from(account).where(visible_accounts(viewer, account))
    return Related(statement, account, account.owner_id, orders.accounts_by_name(account))


OWNED_ACCOUNTS = Relation("owned_accounts", _owned_accounts, row_shape(AccountRow))
"""The accounts of an address-book entry that the caller sees, any status, by name: a
connection (paged, never cut), and counted by `ClientOwner.accountCount`."""


def _history(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    event = models.AuditEvent
    statement = (
        select()
        .select_from(event)
        .where(event.firm_id == viewer.firm_id, named_accounts_visible(viewer))
    )
    return Related(statement, event, event.subject_id, orders.history_newest_first(event))


HISTORY = Relation("history", _history, row_shape(AuditEventRow))
"""The changes to an account or contact the caller reached (and so may see), newest first,
without the events that name an account hidden from the caller (a connection). Not aliased:
`named_accounts_visible` reads the events' table, and history never nests in history."""


def _notifications(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    notification = alias(models.Notification)
    statement = select().select_from(notification).where(notification.firm_id == viewer.firm_id)
    return Related(
        statement,
        notification,
        notification.user_id,
        orders.notifications_newest_first(notification),
    )


NOTIFICATIONS = Relation("notifications", _notifications, row_shape(NotificationRow))
"""A user's notifications, newest first (a connection, read for the caller only)."""


def _custom_field_definitions(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
    definition = alias(models.CustomFieldDefinition)
    statement = select().select_from(definition).where(definition.firm_id == viewer.firm_id)
    return Related(
        statement,
        definition,
        definition.entity,
        orders.custom_fields_by_label(definition),
        lists.custom_fields,
    )


CUSTOM_FIELD_DEFINITIONS = Relation(
    "custom_field_definitions",
    _custom_field_definitions,
    row_shape(CustomFieldDefinitionRow),
)
"""The custom fields the firm defined for an entity (`ACCOUNT`, `CONTACT`), by label."""


def _value_columns(entity: Any) -> list[ColumnElement[Any]]:
    definition, stored = entity
    return [definition.key, definition.label, definition.type, stored.value]


CUSTOM_VALUE_SHAPE = Shape(_value_columns, lambda values: CustomFieldValueRow(*values))
"""A custom value's rows are the pair (definition, the subject's stored value or nulls), as
`CustomFieldValue`'s handlers read."""


def _custom_values(entity: str, subject_model: Any) -> Any:
    """Every definition of `entity`, in the definitions' order, paired with each subject (a row
    of `subject_model`, the parent) and the value stored for that pair, if any."""

    def rows(viewer: Viewer, lists: ListLimits, alias: Alias) -> Related:
        definitions = _custom_field_definitions(viewer, lists, alias)
        definition = definitions.entity
        subject, stored = alias(subject_model), alias(models.CustomFieldValue)
        statement = (
            definitions.statement.where(definition.entity == entity)
            .join(subject, subject.firm_id == definition.firm_id)
            .outerjoin(
                stored,
                and_(
                    stored.firm_id == definition.firm_id,
                    stored.definition_id == definition.id,
                    stored.subject_id == subject.id,
                ),
            )
        )
        return Related(
            statement, (definition, stored), subject.id, definitions.order, definitions.limit
        )

    return rows


ACCOUNT_CUSTOM_FIELDS = Relation(
    "account_custom_fields", _custom_values("ACCOUNT", models.Account), CUSTOM_VALUE_SHAPE
)
"""An account's custom fields: every one defined for accounts, with its value or null."""

CONTACT_CUSTOM_FIELDS = Relation(
    "contact_custom_fields", _custom_values("CONTACT", models.Contact), CUSTOM_VALUE_SHAPE
)
"""A contact's custom fields: every one defined for contacts, with its value or null."""


def unread(notification: Any) -> ColumnElement[bool]:
    """`Viewer.notifications(unreadOnly: true)`."""
    return notification.read_at.is_(None)  # type: ignore[no-any-return]
