"""`node(id:)` and `nodes(ids:)`: any object by its global id, as `resolvers.nodes.node_row`
finds it. The id's type is a parameter: the statement holds one guarded lookup per type the
caller could reach, and only the one whose type matches returns a row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from clientgraph.db import models
from clientgraph.ids import decode_any_id
from clientgraph.outbox.emails import EMAIL_KINDS
from clientgraph.outbox.webhook import WEBHOOK_KIND
from clientgraph.plan.build import Build, Counter, Field, Fix, list_fix, planned
from clientgraph.plan.errors import Decline, Unplanned
from clientgraph.resolvers.history import named_accounts_visible
from clientgraph.resolvers.policy import visible_accounts, visible_contacts
from sqlalchemy import (
    ColumnElement,
    String,
    Uuid,
    and_,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased

Lookup = Callable[[Build, Any, Any], tuple[Any, list[ColumnElement[bool]]]]
"""(row, criteria) finding the object of one type whose id is the given expression."""


def _account(build: Build, key: Any, parent: Any) -> tuple[Any, list[ColumnElement[bool]]]:
    row = aliased(models.Account)
    return row, [visible_accounts(build.viewer, row), row.id == key]


def _client_owner(build: Build, key: Any, parent: Any) -> tuple[Any, list[ColumnElement[bool]]]:
    row = aliased(models.ClientOwner)
    return row, [row.firm_id == build.viewer.firm_id, row.id == key]


def _user(build: Build, key: Any, parent: Any) -> tuple[Any, list[ColumnElement[bool]]]:
    row = aliased(models.User)
    return row, [row.firm_id == build.viewer.firm_id, row.id == key, row.deleted_at.is_(None)]


def _contact(build: Build, key: Any, parent: Any) -> tuple[Any, list[ColumnElement[bool]]]:
    row = models.Contact
    return row, [visible_contacts(build.viewer), row.id == key]


def _firm(build: Build, key: Any, parent: Any) -> tuple[Any, list[ColumnElement[bool]]]:
    row = aliased(models.Firm)
    return row, [row.id == build.viewer.firm_id, row.id == key]


def _audit_event(build: Build, key: Any, parent: Any) -> tuple[Any, list[ColumnElement[bool]]]:
    """Visible history naming no hidden account, of a subject the caller may see (anything
    other than an account or contact: administrators only)."""
    event = models.AuditEvent
    account = aliased(models.Account)
    contact = models.Contact
    account_seen = exists().where(
        visible_accounts(build.viewer, account), account.id == event.subject_id
    )
    contact_seen = exists(
        select(contact.id).where(visible_contacts(build.viewer), contact.id == event.subject_id)
    )
    other = event.subject_type.not_in(("account", "contact"))
    subject_seen = or_(
        and_(event.subject_type == "account", account_seen),
        and_(event.subject_type == "contact", contact_seen),
        other if build.viewer.is_admin else false(),
    )
    criteria = [
        event.firm_id == build.viewer.firm_id,
        event.id == key,
        named_accounts_visible(build.viewer),
        subject_seen,
    ]
    return event, criteria


def _notification(build: Build, key: Any, parent: Any) -> tuple[Any, list[ColumnElement[bool]]]:
    row = aliased(models.Notification)
    criteria = [
        row.firm_id == build.viewer.firm_id,
        row.user_id == build.viewer.user_id,
        row.id == key,
    ]
    return row, criteria


def _email_delivery(build: Build, key: Any, parent: Any) -> tuple[Any, list[ColumnElement[bool]]]:
    row = aliased(models.OutboxEvent)
    criteria = [row.firm_id == build.viewer.firm_id, row.kind.in_(EMAIL_KINDS), row.id == key]
    return row, criteria


def _webhook(build: Build, key: Any, parent: Any) -> tuple[Any, list[ColumnElement[bool]]]:
    row = aliased(models.Webhook)
    return row, [row.firm_id == build.viewer.firm_id, row.id == key]


def _webhook_delivery(build: Build, key: Any, parent: Any) -> tuple[Any, list[ColumnElement[bool]]]:
    row = aliased(models.OutboxEvent)
    criteria = [row.firm_id == build.viewer.firm_id, row.kind == WEBHOOK_KIND, row.id == key]
    return row, criteria


def _api_key(build: Build, key: Any, parent: Any) -> tuple[Any, list[ColumnElement[bool]]]:
    row = aliased(models.ApiKey)
    return row, [row.firm_id == build.viewer.firm_id, row.id == key]


LOOKUPS: dict[str, Lookup] = {
    "Account": _account,
    "ClientOwner": _client_owner,
    "User": _user,
    "Contact": _contact,
    "Firm": _firm,
    "AuditEvent": _audit_event,
    "Notification": _notification,
    "EmailDelivery": _email_delivery,
    "ApiKey": _api_key,
    "Webhook": _webhook,
    "WebhookDelivery": _webhook_delivery,
}
ADMIN_ONLY = frozenset({"EmailDelivery", "ApiKey", "Webhook", "WebhookDelivery"})


def _decoded(value: Any) -> tuple[str | None, Any]:
    decoded = decode_any_id(str(value)) if value is not None else None
    if decoded is None or decoded[0] not in LOOKUPS:
        return None, None
    return decoded


def _typed(fixes: dict[str, Fix | None]) -> Fix:
    """The object from its [type, object] pair, finished as its type needs."""

    def fix(value: Any, counter: Counter) -> Any:
        if value is None:
            return None
        type_name, found = value
        child = fixes.get(type_name)
        return child(found, counter) if child is not None else found

    return fix


def node_value(
    build: Build, field: Field, type_param: Any, key_param: Any, parent: Any
) -> tuple[ColumnElement[Any], Fix]:
    lookups = []
    fixes: dict[str, Fix | None] = {}
    for type_name, lookup in LOOKUPS.items():
        if type_name in ADMIN_ONLY and not build.viewer.is_admin:
            continue
        row, criteria = lookup(build, key_param, parent)
        value, fix = build.object(type_name, field, row)
        pair = build.json.array([build.json.quoted(type_name), value])
        statement = select(pair).where(type_param == type_name, *criteria)
        lookups.append(build.one(statement, parent))
        fixes[type_name] = fix
    return func.coalesce(*lookups), _typed(fixes)


@planned("Query", "node")
def node(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    type_param, key_param = build.parameter(String), build.parameter(Uuid)

    def convert(value: Any) -> dict[str, Any]:
        type_name, key = _decoded(value)
        return {type_param.key: type_name, key_param.key: key}

    build.bind(field, "id", convert)
    return node_value(build, field, type_param, key_param, None)


@planned("Query", "nodes")
def nodes(build: Build, row: Any, field: Field) -> tuple[ColumnElement[Any], Fix | None]:
    """The ids' objects in the order asked, null where unknown. The ids are one parameter
    (two arrays on PostgreSQL, a JSON array on SQLite), so one statement serves any number."""
    maximum = build.pages.maximum
    json = build.json
    if json.postgresql:
        types = build.parameter(postgresql.ARRAY(String))
        keys = build.parameter(postgresql.ARRAY(Uuid))
        asked = (
            func.unnest(types, keys)
            .table_valued("type_name", "key", with_ordinality="position")
            .render_derived()
        )
        type_column, key_column, position = asked.c.type_name, asked.c.key, asked.c.position

        def convert(ids: Any) -> dict[str, Any]:
            decoded = _all_decoded(ids, maximum)
            return {
                types.key: [type_name for type_name, _ in decoded],
                keys.key: [key for _, key in decoded],
            }

    else:
        pairs = build.parameter(String)
        asked = func.json_each(pairs).table_valued("key", "value")
        type_column = func.json_extract(asked.c.value, literal_column("'$[0]'"))
        key_column = func.json_extract(asked.c.value, literal_column("'$[1]'"))
        position = asked.c.key

        def convert(ids: Any) -> dict[str, Any]:
            decoded = _all_decoded(ids, maximum)
            found = [[name, key.hex if key else None] for name, key in decoded]
            return {pairs.key: orjson.dumps(found).decode()}

    build.bind(field, "ids", convert)
    value, fix = node_value(build, field, type_column, key_column, asked)
    if json.postgresql:
        aggregated = func.json_agg(aggregate_order_by(value, position))
        array = select(func.coalesce(aggregated, json.empty_array())).scalar_subquery()
    else:
        array = func.json(
            select(func.json_group_array(func.json(value))).select_from(asked).scalar_subquery()
        )
    return array, list_fix(fix)


def _all_decoded(ids: Any, maximum: int) -> list[tuple[str | None, Any]]:
    if ids is None or len(ids) > maximum:
        raise Unplanned(Decline.REFUSED_INPUT, "too many ids")
    return [_decoded(value) for value in ids]
