"""The line per HTTP request on `clientgraph.requests` (at INFO; `CLIENTGRAPH_LOG_FORMAT=json`
turns it on, see clientgraph.logs): who asked (firm, principal), what (route, operation), how
it ended (status, outcome), and what it cost (duration, statements, nodes, read path).

The routes that learn the caller note it in the request's `RequestFacts`
(`scope["state"]`); the outermost middleware (web/metrics.py) writes the line when the answer
is over, an answer that failed included. Never a token, a password or a statement's
parameters: the caller is named by ids only, and the engine hides parameters in its errors.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from clientgraph.auth.access_tokens import UserClaims
from clientgraph.auth.portal_tokens import PortalClaims
from clientgraph.auth.viewer import Viewer
from clientgraph.metrics import operation_name
from clientgraph.web.request_id import current_request_id
from starlette.types import Scope

logger = logging.getLogger("clientgraph.requests")

FACTS_STATE = "request_facts"


@dataclass(slots=True)
class RequestFacts:
    """What the routes learned about a request that its log line and trace tell."""

    firm_id: uuid.UUID | None = None
    principal: str | None = None
    """`user`, `api_key` or `portal_contact`."""
    principal_id: uuid.UUID | None = None
    cost: int | None = None
    """The nodes the request asked for, when it ran."""


def facts_of(scope: Scope) -> RequestFacts:
    state = scope.setdefault("state", {})
    facts = state.get(FACTS_STATE)
    if facts is None:
        facts = state[FACTS_STATE] = RequestFacts()
    return facts


def note_caller(scope: Scope, who: Viewer | UserClaims | PortalClaims) -> None:
    facts = facts_of(scope)
    facts.firm_id = who.firm_id
    contact_id = who.contact_id if isinstance(who, PortalClaims | Viewer) else None
    if contact_id is not None:
        facts.principal, facts.principal_id = "portal_contact", contact_id
    elif isinstance(who, Viewer) and who.api_key_id is not None:
        facts.principal, facts.principal_id = "api_key", who.api_key_id
    else:
        facts.principal, facts.principal_id = "user", who.user_id


@dataclass(frozen=True, slots=True)
class Answered:
    """How a request ended, as the middleware saw it."""

    method: str
    route: str
    status: int
    outcome: str
    duration_s: float
    statements: int
    read_path: str | None


def log_request(scope: Scope, operation: object, answered: Answered) -> None:
    if not logger.isEnabledFor(logging.INFO):
        return
    state = scope.get("state", {})
    facts: RequestFacts = state.get(FACTS_STATE) or RequestFacts()
    duration_ms = round(answered.duration_s * 1000, 3)
    fields = {
        "firm_id": None if facts.firm_id is None else str(facts.firm_id),
        "principal": facts.principal,
        "principal_id": None if facts.principal_id is None else str(facts.principal_id),
        "operation": operation_name(operation),
        "method": answered.method,
        "route": answered.route,
        "status": answered.status,
        "outcome": answered.outcome,
        "duration_ms": duration_ms,
        "statements": answered.statements,
        "cost": facts.cost,
        "read_path": answered.read_path,
    }
    token = current_request_id.set(state.get("request_id", "-"))
    try:
        logger.info(
            "%s %s %d %s %.1f ms",
            answered.method,
            answered.route,
            answered.status,
            answered.outcome,
            duration_ms,
            extra=fields,
        )
    finally:
        current_request_id.reset(token)
