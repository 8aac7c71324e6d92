"""The root query's fields. Their row is None: each is a subquery of its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from clientgraph.db import models, orders
from clientgraph.db.orders import Order
from clientgraph.db.relation import Listing
from clientgraph.ids import decode_id
from clientgraph.plan.build import Build, Field, Fix, list_fix, planned
from clientgraph.plan.connection import Keyset, connection, page_request
from clientgraph.plan.errors import Decline, Unplanned
from clientgraph.resolvers.accounts import listed_accounts
from clientgraph.resolvers.api_keys import listed_api_keys
from clientgraph.resolvers.audit_feed import READ_RIGHT, feed
from clientgraph.resolvers.contacts import listed_contacts
from clientgraph.resolvers.email_deliveries import listed_deliveries as listed_email_deliveries
from clientgraph.resolvers.errors import BadUserInput
from clientgraph.resolvers.owners import listed_owners
from clientgraph.resolvers.read_model import ACCOUNTS, CONTACTS, CUSTOM_FIELD_DEFINITIONS
from clientgraph.resolvers.users import listed_users
from clientgraph.resolvers.webhooks import listed_deliveries as listed_webhook_deliveries
from clientgraph.resolvers.webhooks import listed_webhooks
from clientgraph.schema.inputs import (
    account_filter,
    account_order,
    audit_event_filter,
    contact_filter,
)
from clientgraph.schema.related import Read
from sqlalchemy import ColumnElement, String, Uuid, literal, select

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
    related = ACCOUNTS.rows(build.viewer, build.lists)
    value, fix = build.object("Account", field, related.entity)
    return build.one(related.for_parent(account_id).add_columns(value), None), fix


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


def _listed_array(
    build: Build, field: Field, node_type: str, listing: Listing
) -> tuple[ColumnElement[Any], Fix | None]:
    """A top-level list that is not a connection, as its area declares it for both read paths,
    cut at its limit in its order."""
    value, fix = build.object(node_type, field, listing.entity)
    statement = listing.statement().add_columns(value.label("j"))
    return build.array(statement, None, listing.order, listing.limit), list_fix(fix)


@planned(TYPE, "contact")
def contact(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    contact_id = build.parameter(Uuid)
    build.bind(field, "id", lambda value: {contact_id.key: decode_id(str(value), "Contact")})
    related = CONTACTS.rows(build.viewer, build.lists)
    value, fix = build.object("Contact", field, related.entity)
    return build.one(related.for_parent(contact_id).add_columns(value), None), fix


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
    return _listed_array(build, field, "ApiKey", listed_api_keys(build.viewer, build.lists))


@planned(TYPE, "emailDeliveries")
def email_deliveries(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    _require_admin(build)
    listing = listed_email_deliveries(build.viewer, field.args.get("status"))
    return _listed(build, field, "EmailDelivery", listing)


@planned(TYPE, "webhooks")
def webhooks(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    """Oldest first (ties by id)."""
    _require_admin(build)
    return _listed_array(build, field, "Webhook", listed_webhooks(build.viewer))


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
    recipient = build.parameter(String)
    build.bind(field, "webhookId", lambda value: _webhook_recipient(value, recipient.key))
    listing = listed_webhook_deliveries(build.viewer, recipient, field.args.get("status"))
    return _listed(build, field, "WebhookDelivery", listing)
