"""The root query's fields. Their row is None: each is a subquery of its own."""

from __future__ import annotations

from typing import Any

from clientgraph.db import models, orders
from clientgraph.db.orders import Order
from clientgraph.db.queries import fold
from clientgraph.ids import decode_id
from clientgraph.outbox.emails import EMAIL_KINDS
from clientgraph.plan.build import Build, Field, Fix, list_fix, planned
from clientgraph.plan.connection import Keyset, connection, page_request
from clientgraph.plan.errors import Decline, Unplanned
from clientgraph.resolvers.accounts import (
    AccountFilter,
    AccountOrder,
    filtered_accounts,
    ordered_accounts,
)
from clientgraph.resolvers.audit_feed import READ_RIGHT, AuditEventFilter, feed
from clientgraph.resolvers.enums import AccountOrderField, OrderDirection
from clientgraph.resolvers.errors import BadUserInput
from clientgraph.resolvers.inputs import moment, search_text
from clientgraph.resolvers.policy import visible_accounts, visible_contacts
from clientgraph.resolvers.webhooks import MAX_WEBHOOKS, deliveries_of
from clientgraph.schema.query import MAX_FILTER_TAGS
from sqlalchemy import ColumnElement, String, Uuid, select
from sqlalchemy.orm import aliased

TYPE = "Query"


def _account_filter(spec: dict[str, Any] | None, search_length: int) -> AccountFilter:
    """`schema.query.account_filter` over the coerced argument."""
    if spec is None:
        return AccountFilter()
    tags = spec.get("tags")
    if tags is not None and len(set(tags)) > MAX_FILTER_TAGS:
        raise Unplanned(Decline.REFUSED_INPUT, "too many tags")
    owner_ids = spec.get("ownerIds")
    try:
        search = search_text(spec.get("search"), search_length)
        updated_since = moment(spec.get("updatedSince"), "updatedSince")
    except BadUserInput as error:
        raise Unplanned(Decline.REFUSED_INPUT, str(error)) from error
    return AccountFilter(
        search=search,
        owner_ids=[str(owner_id) for owner_id in owner_ids] if owner_ids else None,
        owned_by_me=bool(spec.get("ownedByMe")),
        unowned=bool(spec.get("unowned")),
        assigned_to_me=bool(spec.get("assignedToMe")),
        status=spec.get("status"),
        types=spec.get("types"),
        tags=tags,
        updated_since=updated_since,
    )


@planned(TYPE, "accounts")
def accounts(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    args = field.args
    order_by = args.get("orderBy")
    order = (
        AccountOrder(
            AccountOrderField(order_by["field"].value),
            order_by["direction"] == OrderDirection.DESC,
        )
        if order_by
        else AccountOrder()
    )
    spec = _account_filter(args.get("filter"), build.lists.search_length)
    query, ordered = ordered_accounts(filtered_accounts(build.viewer, spec), order)
    statement = query.with_only_columns(maintain_column_froms=True)
    keyset = Keyset(statement, models.Account, ordered, None)
    return connection(build, field, "Account", keyset, page_request(args))


@planned(TYPE, "account")
def account(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    account_id = build.parameter(Uuid)
    build.bind(field, "id", lambda value: {account_id.key: decode_id(str(value), "Account")})
    found = aliased(models.Account)
    value, fix = build.object("Account", field, found)
    statement = select(value).where(visible_accounts(build.viewer, found), found.id == account_id)
    return build.one(statement, None), fix


@planned(TYPE, "viewer")
def viewer(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    return build.object("Viewer", field, None)


def _root_connection(
    build: Build,
    field: Field,
    node_type: str,
    statement: Any,
    row: Any,
    order: Order,
) -> tuple[ColumnElement[Any], Fix | None]:
    keyset = Keyset(statement, row, order, None)
    return connection(build, field, node_type, keyset, page_request(field.args))


def _search(build: Build, field: Field, value: Any) -> str | None:
    try:
        text = search_text(value, build.lists.search_length)
    except BadUserInput as error:
        raise Unplanned(Decline.REFUSED_INPUT, str(error)) from error
    return fold(text) if text is not None else None


@planned(TYPE, "contact")
def contact(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    contact_id = build.parameter(Uuid)
    build.bind(field, "id", lambda value: {contact_id.key: decode_id(str(value), "Contact")})
    found = models.Contact
    value, fix = build.object("Contact", field, found)
    statement = select(value).where(visible_contacts(build.viewer), found.id == contact_id)
    return build.one(statement, None), fix


@planned(TYPE, "contacts")
def contacts(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    """`resolvers.contacts.contacts`: visible contacts by last, first name."""
    contact = models.Contact
    spec = field.args.get("filter") or {}
    statement = select().select_from(contact).where(visible_contacts(build.viewer))
    try:
        updated_since = moment(spec.get("updatedSince"), "updatedSince")
    except BadUserInput as error:
        raise Unplanned(Decline.REFUSED_INPUT, str(error)) from error
    if updated_since is not None:
        statement = statement.where(contact.updated_at >= updated_since)
    term = _search(build, field, spec.get("search"))
    if term is not None:
        statement = statement.where(contact.search_folded.contains(term, autoescape=True))
    if spec.get("accountId") is not None:
        account_uuid = decode_id(str(spec["accountId"]), "Account")
        account, link = aliased(models.Account), aliased(models.AccountContact)
        visible_account = (
            select(account.id)
            .where(visible_accounts(build.viewer, account), account.id == account_uuid)
            .scalar_subquery()
        )
        statement = statement.where(
            select(link.contact_id)
            .where(
                link.firm_id == contact.firm_id,
                link.contact_id == contact.id,
                link.account_id == visible_account,
            )
            .exists()
        )
    order = orders.contacts_by_name(contact)
    return _root_connection(build, field, "Contact", statement, contact, order)


@planned(TYPE, "clientOwners")
def client_owners(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    owner = models.ClientOwner
    statement = select().select_from(owner).where(owner.firm_id == build.viewer.firm_id)
    term = _search(build, field, field.args.get("search"))
    if term is not None:
        statement = statement.where(owner.name_folded.contains(term, autoescape=True))
    order = orders.owners_by_name(owner)
    return _root_connection(build, field, "ClientOwner", statement, owner, order)


@planned(TYPE, "users")
def users(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    user = models.User
    statement = (
        select()
        .select_from(user)
        .where(user.firm_id == build.viewer.firm_id, user.deleted_at.is_(None))
    )
    term = _search(build, field, field.args.get("search"))
    if term is not None:
        statement = statement.where(
            user.name_folded.contains(term, autoescape=True)
            | user.email_folded.contains(term, autoescape=True)
        )
    order = orders.users_by_name(user)
    return _root_connection(build, field, "User", statement, user, order)


@planned(TYPE, "customFieldDefinitions")
def custom_field_definitions(
    build: Build, row: Any, field: Field
) -> tuple[ColumnElement[Any], Fix | None]:
    definition = aliased(models.CustomFieldDefinition)
    value, fix = build.object("CustomFieldDefinition", field, definition)
    statement = select(value.label("j")).where(
        definition.firm_id == build.viewer.firm_id,
        definition.entity == field.args["entity"].value,
    )
    order = orders.custom_fields_by_label(definition)
    return build.array(statement, None, order, build.lists.custom_fields), list_fix(fix)


def _require_admin(build: Build) -> None:
    if not build.viewer.is_admin:
        raise Unplanned(Decline.FORBIDDEN, "administrators only")


@planned(TYPE, "apiKeys")
def api_keys(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    """Newest first (ties by id), at most `lists.api_keys`."""
    _require_admin(build)
    key = aliased(models.ApiKey)
    value, fix = build.object("ApiKey", field, key)
    statement = select(value.label("j")).where(key.firm_id == build.viewer.firm_id)
    order = orders.api_keys_newest_first(key)
    array = build.array(statement, None, order, build.lists.api_keys)
    return array, list_fix(fix)


@planned(TYPE, "emailDeliveries")
def email_deliveries(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    _require_admin(build)
    event = models.OutboxEvent
    statement = (
        select()
        .select_from(event)
        .where(event.firm_id == build.viewer.firm_id, event.kind.in_(EMAIL_KINDS))
    )
    status = field.args.get("status")
    if status is not None:
        statement = statement.where(event.status == status.value)
    order = orders.deliveries_newest_first(event)
    return _root_connection(build, field, "EmailDelivery", statement, event, order)


@planned(TYPE, "webhooks")
def webhooks(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    """Oldest first (ties by id)."""
    _require_admin(build)
    hook = aliased(models.Webhook)
    value, fix = build.object("Webhook", field, hook)
    statement = select(value.label("j")).where(hook.firm_id == build.viewer.firm_id)
    array = build.array(statement, None, orders.webhooks_oldest_first(hook), MAX_WEBHOOKS)
    return array, list_fix(fix)


def _webhook_recipient(value: Any, parameter: str) -> dict[str, Any]:
    webhook_id = decode_id(str(value), "Webhook")
    if webhook_id is None:
        raise Unplanned(Decline.REFUSED_INPUT, "not a webhook's id")
    return {parameter: str(webhook_id)}


@planned(TYPE, "auditEvents")
def audit_events(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    """`resolvers.audit_feed.audit_events`: the firm's settled events in commit order."""
    if not build.viewer.has(READ_RIGHT):
        raise Unplanned(Decline.FORBIDDEN, f"needs {READ_RIGHT.value}")
    spec = field.args.get("filter") or {}
    try:
        checked = AuditEventFilter(
            spec.get("since"), spec.get("actions"), spec.get("subjectTypes")
        ).checked()
    except BadUserInput as error:
        raise Unplanned(Decline.REFUSED_INPUT, str(error)) from error
    event = models.AuditEvent
    statement = feed(build.viewer, checked, select().select_from(event))
    order = orders.audit_feed_in_commit_order(event)
    return _root_connection(build, field, "AuditEvent", statement, event, order)


@planned(TYPE, "webhookDeliveries")
def webhook_deliveries(
    build: Build, row: Any, field: Field
) -> tuple[ColumnElement[Any], Fix | None]:
    _require_admin(build)
    event = models.OutboxEvent
    recipient = build.parameter(String)
    build.bind(field, "webhookId", lambda value: _webhook_recipient(value, recipient.key))
    statement = select().select_from(event).where(deliveries_of(build.viewer.firm_id, recipient))
    status = field.args.get("status")
    if status is not None:
        statement = statement.where(event.status == status.value)
    order = orders.deliveries_newest_first(event)
    return _root_connection(build, field, "WebhookDelivery", statement, event, order)
