"""Every field a query can reach has a plan: a new field without one would silently leave its
queries on the slow generic path."""

from __future__ import annotations

from clientgraph.plan import fields as _fields  # noqa: F401
from clientgraph.plan.build import HANDLERS, handler_for
from clientgraph.schema.cost import is_connection
from clientgraph.schema.extensions import QueryLimits
from clientgraph.schema.graphql_core import graphql_schema, strawberry_field_of
from clientgraph.schema.related import read_of
from clientgraph.schema.schema import build_schema
from graphql import GraphQLObjectType, get_named_type

PORTAL_ONLY = frozenset({("Query", "portal")})
"""Served to portal principals only, whose requests the planner leaves to PortalScope."""

GENERIC_ONLY = frozenset({("Query", "explainAccess")})
"""An administrator's review, computed in Python from the rules that enforce access (its
reasons are sentences, not columns): rare, one row, left to the generic path on purpose."""

BUILT_BY_THEIR_PARENT = frozenset({"PageInfo", "FieldChange"})
"""Built by `plan.connection` and by `AuditEvent.changes` respectively."""


def _reachable_object_types() -> dict[str, GraphQLObjectType]:
    schema = graphql_schema(build_schema(QueryLimits()))
    assert schema.query_type is not None
    found: dict[str, GraphQLObjectType] = {}
    pending = [schema.query_type]
    while pending:
        type_ = pending.pop()
        if type_.name in found:
            continue
        found[type_.name] = type_
        for name, field in type_.fields.items():
            if (type_.name, name) in PORTAL_ONLY | GENERIC_ONLY:
                continue
            named = get_named_type(field.type)
            if isinstance(named, GraphQLObjectType):
                pending.append(named)
            for possible in (
                schema.get_possible_types(named)
                if not isinstance(named, GraphQLObjectType) and hasattr(named, "fields")
                else ()
            ):
                pending.append(possible)
    return found


def test_every_field_a_query_reaches_has_a_plan() -> None:
    missing = []
    for name, type_ in _reachable_object_types().items():
        if is_connection(type_) or name.endswith("Edge") or name in BUILT_BY_THEIR_PARENT:
            continue
        missing.extend(
            f"{name}.{field}"
            for field, definition in type_.fields.items()
            if handler_for(name, field, definition) is None
            and (name, field) not in PORTAL_ONLY | GENERIC_ONLY
        )
    assert missing == []


def test_no_declared_relation_has_a_hand_written_plan_too() -> None:
    """A field declared as a relation (`schema.related`) gets its plan from that declaration;
    a handler registered for it as well would be the relation written a second time."""
    twice = [
        f"{name}.{field}"
        for name, type_ in _reachable_object_types().items()
        for field, definition in type_.fields.items()
        if read_of(strawberry_field_of(definition)) is not None and field in HANDLERS.get(name, {})
    ]
    assert twice == []


def test_the_declared_relations_are_read_by_fields_of_the_schema() -> None:
    """Every plain relation the schema's types declare reaches the planner through `Read`: the
    list names them, so a type that goes back to a hand-written resolver fails here."""
    declared = {
        f"{name}.{field}": read.relation.name
        for name, type_ in _reachable_object_types().items()
        for field, definition in type_.fields.items()
        if (read := read_of(strawberry_field_of(definition))) is not None
    }
    assert declared == {
        "User.clientOwner": "owner_of_user",
        "ClientOwner.user": "live_users",
        "AuditEvent.actor": "users",
        "AuditEvent.apiKey": "api_keys",
        "Contact.email": "contact_emails",
        "Contact.emails": "contact_emails",
        "Contact.accounts": "contact_links",
        "Contact.customFields": "contact_custom_fields",
        "AccountContact.account": "accounts",
        "Account.owner": "owners",
        "Account.teamMembers": "team_members",
        "Account.tags": "tags",
        "Account.contacts": "account_contacts",
        "Account.relatedAccounts": "related_accounts",
        "Account.customFields": "account_custom_fields",
        "Account.history": "history",
        "Contact.history": "history",
        "ClientOwner.accounts": "owned_accounts",
        "Notification.account": "accounts",
        "ApiKey.createdBy": "users",
        "ApiKey.user": "users",
    }
