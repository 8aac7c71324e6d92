"""The root query's fields. Their row is None: each is a subquery of its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from clientgraph.db import models, orders
from clientgraph.db.orders import Order
from clientgraph.db.relation import Listing
from clientgraph.ids import decode_id
from clientgraph.outbox.emails import EMAIL_KINDS
from clientgraph.plan.build import Build, Field, Fix, list_fix, planned
from clientgraph.plan.connection import Keyset, connection, page_request
from clientgraph.plan.errors import Decline, Unplanned
from clientgraph.resolvers.accounts import listed_accounts
from clientgraph.resolvers.audit_feed import READ_RIGHT, feed
from clientgraph.resolvers.contacts import listed_contacts
from clientgraph.resolvers.errors import BadUserInput
from clientgraph.resolvers.owners import listed_owners
from clientgraph.resolvers.policy import visible_accounts, visible_contacts
from clientgraph.resolvers.read_model import CUSTOM_FIELD_DEFINITIONS
from clientgraph.resolvers.users import listed_users
from clientgraph.resolvers.webhooks import MAX_WEBHOOKS, deliveries_of
from clientgraph.schema.inputs import (
    account_filter,
    account_order,
    audit_event_filter,
    contact_filter,
)
from clientgraph.schema.related import Read
from sqlalchemy import ColumnElement, String, Uuid, literal, select
from sqlalchemy.orm import aliased

TYPE = "Query"


@contextmanager
def _refused() -> Iterator[None]:
    """An argument the generic path refuses (BAD_USER_INPUT) is the generic path's to answer,
    with its error."""
    try:
        yield
    except BadUserInput as error:
        raise Unplanned(Decline.REFUSED_INPUT, str(error)) from error


@planned(TYPE, "accounts")
def accounts(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    args = build.arguments(field)
    with _refused():
        query, ordered = listed_accounts(
            build.viewer,
            account_filter(args.get("filter")),
            account_order(args.get("order_by")),
            search_length=build.lists.search_length,
        )
    statement = query.with_only_columns(maintain_column_froms=True)
    keyset = Keyset(statement, models.Account, ordered, None)
    return connection(build, field, "Account", keyset, page_request(field.args))


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


def _listed(
    build: Build, field: Field, node_type: str, listing: Listing
) -> tuple[ColumnElement[Any], Fix | None]:
    """A top-level list as its area declares it for both read paths, paged in SQL."""
    keyset = Keyset(listing.statement(), listing.entity, listing.order, None)
    return connection(build, field, node_type, keyset, page_request(field.args))


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
    given = contact_filter(build.arguments(field).get("filter"))
    with _refused():
        listing = listed_contacts(build.viewer, given, search_length=build.lists.search_length)
    return _listed(build, field, "Contact", listing)


@planned(TYPE, "clientOwners")
def client_owners(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    search = field.args.get("search")
    with _refused():
        listing = listed_owners(build.viewer, search, search_length=build.lists.search_length)
    return _listed(build, field, "ClientOwner", listing)


@planned(TYPE, "users")
def users(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    search = field.args.get("search")
    with _refused():
        listing = listed_users(build.viewer, search, search_length=build.lists.search_length)
    return _listed(build, field, "User", listing)


@planned(TYPE, "customFieldDefinitions")
def custom_field_definitions(
    build: Build, row: Any, field: Field
) -> tuple[ColumnElement[Any], Fix | None]:
    read = Read(
        CUSTOM_FIELD_DEFINITIONS, "CustomFieldDefinition", via="entity", many=True, required=True
    )
    return build.related(read, field, None, literal(field.args["entity"].value))


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
    with _refused():
        checked = audit_event_filter(build.arguments(field).get("filter")).checked()
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
