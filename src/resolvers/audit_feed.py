"""The firm-wide audit feed (`auditEvents`): every event the firm's mutations recorded, for its
owners and administrators, in the order their transactions committed.

A partner keeps the last cursor and asks for what comes `after` it. Ordering by time or id
alone would let an event of a transaction that commits late (it took its time while a later
one committed) land before a cursor already given out, and be missed. So events are ordered by
their writing transaction first (`models.WritingTransaction`), and the feed shows only the
events of transactions older than every transaction still running
(`models.OldestRunningTransaction`): whatever commits later sorts after every cursor given out.
An event shows once every transaction that began writing before it has ended.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from clientgraph.auth.viewer import Viewer
from clientgraph.db import models, orders
from clientgraph.db.queries import select_rows
from clientgraph.db.rows import AuditEventRow
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.enums import Permission
from clientgraph.resolvers.errors import BadUserInput
from clientgraph.resolvers.inputs import moment
from clientgraph.resolvers.pagination import Page, PageRequest, paginate
from clientgraph.resolvers.policy import require
from sqlalchemy import Select

SUBJECT_TYPES: dict[str, str] = {
    "account": "Account",
    "contact": "Contact",
    "client_owner": "ClientOwner",
    "user": "User",
    "api_key": "ApiKey",
    "webhook": "Webhook",
    "email_delivery": "EmailDelivery",
    "firm": "Firm",
}
"""Each subject type history records, and the GraphQL type of its subject's id."""
MAX_FILTER_ITEMS = 50
MAX_ACTION_LENGTH = 80


@dataclass(frozen=True, slots=True)
class AuditEventFilter:
    since: datetime | None = None
    actions: list[str] | None = None
    subject_types: list[str] | None = None

    def checked(self) -> AuditEventFilter:
        """This filter, or BadUserInput naming what is wrong with it."""
        for name, items in (("actions", self.actions), ("subjectTypes", self.subject_types)):
            if items is not None and len(items) > MAX_FILTER_ITEMS:
                raise BadUserInput(f"Filter by at most {MAX_FILTER_ITEMS} {name} at once.")
        for action in self.actions or []:
            if len(action) > MAX_ACTION_LENGTH:
                raise BadUserInput(f"An action is at most {MAX_ACTION_LENGTH} characters.")
        unknown = sorted(set(self.subject_types or []) - SUBJECT_TYPES.keys())
        if unknown:
            raise BadUserInput(
                f"Unknown subject type {unknown[0][:40]!r}; one of: {', '.join(SUBJECT_TYPES)}."
            )
        return replace(self, since=moment(self.since, "since"))


READ_RIGHT = Permission.READ_AUDIT_FEED
"""Who reads the feed: owners and administrators, and the users and keys they give it to."""


def feed(viewer: Viewer, spec: AuditEventFilter, query: Select[Any]) -> Select[Any]:
    """`query` over audit events narrowed to the firm's settled events matching `spec`."""
    event = models.AuditEvent
    query = query.where(
        event.firm_id == viewer.firm_id,
        event.transaction_order < models.OldestRunningTransaction(),
    )
    if spec.since is not None:
        query = query.where(event.occurred_at >= spec.since)
    if spec.actions is not None:
        query = query.where(event.action.in_(spec.actions))
    if spec.subject_types is not None:
        query = query.where(event.subject_type.in_(spec.subject_types))
    return query


async def audit_events(
    ctx: Context, *, spec: AuditEventFilter, page: PageRequest
) -> Page[AuditEventRow]:
    """The firm's events in commit order, oldest first, for a holder of `READ_RIGHT`."""
    require(ctx.viewer, READ_RIGHT)
    query = feed(ctx.viewer, spec.checked(), select_rows(AuditEventRow))
    order = orders.audit_feed_in_commit_order()
    return await paginate(ctx, query, order, request=page, row_type=AuditEventRow)
