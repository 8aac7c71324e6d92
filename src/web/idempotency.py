"""`Idempotency-Key` on mutations (API.md §9): a POST to /graphql that carries a mutation and
the header runs once per caller and key; the same request sent again within 24 hours gets the
stored answer without running again.

The key is claimed before the mutation runs, by an INSERT that only one request can win (the
primary key is firm, principal, key), in a transaction of its own: a second request meanwhile
finds the claim and is told the key is in use. After the request the claim is settled: when a
mutation of it committed, its answer (status and body) is stored for 24 hours; when nothing
was committed (refused, userErrors, the database unavailable, out of time) the claim is
released, since running the request again can do no harm. A claim is leased for the request's
time limit plus a margin: one whose request died before settling it lapses then.

A caller holds at most `max_keys_per_caller` live keys (a new one past that is 429
`IDEMPOTENCY_KEY_LIMIT`), and an answer over `MAX_KEPT_ANSWER_BYTES` is not stored (a retry
is told `IDEMPOTENCY_ANSWER_NOT_KEPT`, as for answers that carry a secret). Expired rows of the
firm are deleted when a claim is settled, at most `PURGE_BATCH` at a time, outside the claim's
transaction: a claim never waits on a large delete."""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from clientgraph.db import models
from clientgraph.db.engine import (
    CommitOutcomeUnknown,
    Database,
    DatabaseUnavailable,
    describe_loss,
)
from clientgraph.db.models import IdempotencyKey
from clientgraph.web.errors import HttpError, error_response
from clientgraph.web.graphql_request import mutation_fields
from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

logger = logging.getLogger("clientgraph.web.idempotency")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
LIFETIME = timedelta(hours=24)
LEASE_MARGIN = timedelta(seconds=60)
"""What a claim's lease adds to the request's time limit: the grace a stopped request has to
unwind, and the write that settles the claim."""
IN_USE_RETRY_AFTER_S = 1
IN_PROGRESS = "IN_PROGRESS"
DONE = "DONE"
VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")
SECRET_BEARING = frozenset({"createApiKey", "createWebhook", "rotateWebhookSecret"})
"""Mutations whose answer carries a secret shown once. It is never stored (the row would keep
it in plain text for a day): a retry with the key is told the request ran, not given it."""
NOT_KEPT = (
    f"A request with this {HEADER} ran already. Its answer carried a secret, shown once and "
    "not kept: look up what it made (apiKeys, webhooks), or make a new secret."
)
KEY_RULE = "1 to 255 printable ASCII characters"
MAX_KEPT_ANSWER_BYTES = 64 * 1024
TOO_LARGE_TO_KEEP = (
    f"A request with this {HEADER} ran already. Its answer was larger than "
    f"{MAX_KEPT_ANSWER_BYTES // 1024} KiB and not kept: read what it changed with a query."
)
PURGE_BATCH = 500
"""Expired rows deleted with each settled claim at most: a bounded statement, yet more than
one settle adds, so the table does not grow."""


@dataclass(frozen=True, slots=True)
class Claim:
    """One request's hold on a key: whose (firm and principal), which, and the hash of the
    request it holds it for."""

    firm_id: uuid.UUID
    principal: str
    key: str
    request_hash: str
    answer_kept: bool = True
    time_limit_s: float | None = None
    """How long the request may run (an import's limit is longer than a request's); its
    claim's lease is that plus `LEASE_MARGIN`. None: the keys' own lease."""


def requested_key(request: Request, payload: dict[str, Any], max_tokens: int) -> Requested | None:
    """The request's Idempotency-Key when it is a POST carrying a mutation; None when it has
    none or is anything else (it then just runs). HttpError 400 for a key that breaks the
    rule or is sent twice."""
    keys = request.headers.getlist(HEADER)
    if not keys or request.method != "POST":
        return None
    fields = mutation_fields(payload, max_tokens)
    if fields is None:
        return None
    if len(keys) > 1:
        raise HttpError(400, f"Send one {HEADER} header, not {len(keys)}.")
    if VALID_KEY.fullmatch(keys[0]) is None:
        raise HttpError(400, f"The {HEADER} header must be {KEY_RULE}.")
    return Requested(keys[0], answer_kept=not fields & SECRET_BEARING)


@dataclass(frozen=True, slots=True)
class Requested:
    """A request's key, and whether its answer may be stored for replay."""

    key: str
    answer_kept: bool


def request_hash(payload: dict[str, Any], multipart_sha256: str | None = None) -> str:
    """SHA-256 of the request in canonical JSON (sorted keys): its query, operation name and
    variables (absent and null variables count as none), and the SHA-256 of a multipart body
    (whose files the variables only name)."""
    canonical = {
        "query": payload.get("query"),
        "operationName": payload.get("operationName"),
        "variables": payload.get("variables") or {},
    }
    if multipart_sha256 is not None:
        canonical["files"] = multipart_sha256
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass
class IdempotencyKeys:
    """The claims and stored answers of `idempotency_keys`."""

    db: Database
    lease: timedelta
    clock: Callable[[], datetime] = models.utcnow
    max_keys_per_caller: int = 10_000
    """`CLIENTGRAPH_IDEMPOTENCY_MAX_KEYS_PER_CALLER`: live keys (claimed or kept) per caller."""

    @classmethod
    def for_requests(
        cls, db: Database, request_timeout_s: float, max_keys_per_caller: int = 10_000
    ) -> IdempotencyKeys:
        return cls(
            db,
            timedelta(seconds=request_timeout_s) + LEASE_MARGIN,
            max_keys_per_caller=max_keys_per_caller,
        )

    async def claim(self, claim: Claim) -> Response | None:
        """None when the request now holds the key and is to run; otherwise its answer: the
        stored one replayed, or why the key cannot be used."""
        now = self.clock()

        async def work(session: AsyncSession) -> IdempotencyKey | None:
            if (await session.execute(self._insert(claim, now))).first() is None:
                held = await _held(session, claim)
                if held.expires_at > now:
                    return held
                await session.execute(
                    delete(IdempotencyKey).where(*_row(claim), IdempotencyKey.expires_at <= now)
                )
                if (await session.execute(self._insert(claim, now))).first() is None:
                    return await _held(session, claim)
            await self._within_limit(session, claim, now)
            return None

        held = await self.db.write(work, firm_id=claim.firm_id)
        return None if held is None else _answer_for(held, claim)

    async def _within_limit(self, session: AsyncSession, claim: Claim, now: datetime) -> None:
        """HttpError 429 (rolling the new claim back) when the caller now holds more live keys
        than the limit; counts no further than one past it."""
        live = (
            select(IdempotencyKey.key)
            .where(
                IdempotencyKey.firm_id == claim.firm_id,
                IdempotencyKey.principal == claim.principal,
                IdempotencyKey.expires_at > now,
            )
            .limit(self.max_keys_per_caller + 1)
            .subquery()
        )
        held = await session.scalar(select(func.count()).select_from(live))
        if (held or 0) > self.max_keys_per_caller:
            raise HttpError(
                429,
                f"You hold {self.max_keys_per_caller} {HEADER}s used within the last 24 hours, "
                "the most one caller may; send this request without the header, or wait for "
                "older keys to expire.",
                {"Retry-After": str(int(LIFETIME.total_seconds()))},
                extensions={"code": "IDEMPOTENCY_KEY_LIMIT"},
            )

    async def settle(self, claim: Claim, answer: Response | None) -> None:
        """Keep `answer` as the key's (given when the request changed something), or release
        the key (None).

        A database that fails this write does not fail the request: its answer is given all
        the same (what it committed stays committed), and the claim lapses with its lease."""
        try:
            if answer is None:
                await self._release(claim)
            else:
                await self._keep(claim, answer)
        except (DatabaseUnavailable, CommitOutcomeUnknown, SQLAlchemyError) as error:
            logger.warning(
                "the Idempotency-Key of this request could not be settled (%s); it stays in use "
                "until its lease ends",
                describe_loss(error),
            )

    async def _keep(self, claim: Claim, answer: Response) -> None:
        now = self.clock()
        body = bytes(answer.body)
        if not claim.answer_kept:
            status, kept = 409, _NOT_KEPT_BODY
        elif len(body) > MAX_KEPT_ANSWER_BYTES:
            status, kept = 409, _TOO_LARGE_BODY
        else:
            status, kept = answer.status_code, body.decode()

        async def work(session: AsyncSession) -> None:
            await session.execute(
                update(IdempotencyKey)
                .where(*_row(claim))
                .values(state=DONE, status=status, body=kept, expires_at=now + LIFETIME)
            )

        await self.db.write(work, firm_id=claim.firm_id)
        await self._purge_expired(claim.firm_id, now)

    async def _purge_expired(self, firm_id: uuid.UUID, now: datetime) -> None:
        """Delete up to PURGE_BATCH of the firm's expired rows, in a transaction of their own."""

        async def work(session: AsyncSession) -> None:
            expired = (
                select(IdempotencyKey.principal, IdempotencyKey.key)
                .where(IdempotencyKey.firm_id == firm_id, IdempotencyKey.expires_at <= now)
                .limit(PURGE_BATCH)
            )
            rows = (await session.execute(expired)).all()
            if rows:
                await session.execute(
                    delete(IdempotencyKey).where(
                        IdempotencyKey.firm_id == firm_id,
                        IdempotencyKey.expires_at <= now,
                        tuple_(IdempotencyKey.principal, IdempotencyKey.key).in_(
                            [(row.principal, row.key) for row in rows]
                        ),
                    )
                )

        await self.db.write(work, firm_id=firm_id)

    async def _release(self, claim: Claim) -> None:

        async def work(session: AsyncSession) -> None:
            await session.execute(
                delete(IdempotencyKey).where(*_row(claim), IdempotencyKey.state == IN_PROGRESS)
            )

        await self.db.write(work, firm_id=claim.firm_id)

    def _lease(self, claim: Claim) -> timedelta:
        if claim.time_limit_s is None:
            return self.lease
        return timedelta(seconds=claim.time_limit_s) + LEASE_MARGIN

    def _insert(self, claim: Claim, now: datetime) -> Any:
        dialect = postgresql if self.db.dialect == "postgresql" else sqlite
        return (
            dialect.insert(IdempotencyKey)
            .values(
                firm_id=claim.firm_id,
                principal=claim.principal,
                key=claim.key,
                request_hash=claim.request_hash,
                state=IN_PROGRESS,
                created_at=now,
                expires_at=now + self._lease(claim),
            )
            .on_conflict_do_nothing()
            .returning(IdempotencyKey.key)
        )


_NOT_KEPT_BODY = bytes(
    error_response(409, NOT_KEPT, extensions={"code": "IDEMPOTENCY_ANSWER_NOT_KEPT"}).body
).decode()
_TOO_LARGE_BODY = bytes(
    error_response(409, TOO_LARGE_TO_KEEP, extensions={"code": "IDEMPOTENCY_ANSWER_NOT_KEPT"}).body
).decode()


async def _held(session: AsyncSession, claim: Claim) -> IdempotencyKey:
    found = await session.execute(
        select(IdempotencyKey).where(*_row(claim)).execution_options(populate_existing=True)
    )
    return found.scalar_one()


def _row(claim: Claim) -> tuple[Any, ...]:
    return (
        IdempotencyKey.firm_id == claim.firm_id,
        IdempotencyKey.principal == claim.principal,
        IdempotencyKey.key == claim.key,
    )


def _answer_for(held: IdempotencyKey, claim: Claim) -> Response:
    if held.request_hash != claim.request_hash:
        raise HttpError(
            422,
            f"This {HEADER} was used for another request; use a new key for a new request.",
            extensions={"code": "IDEMPOTENCY_KEY_REUSED"},
        )
    if held.state != DONE or held.status is None or held.body is None:
        raise HttpError(
            409,
            f"A request with this {HEADER} is still running; retry shortly for its answer.",
            {"Retry-After": str(IN_USE_RETRY_AFTER_S)},
            extensions={"code": "IDEMPOTENCY_KEY_IN_USE"},
        )
    return Response(
        held.body.encode(),
        status_code=held.status,
        headers={REPLAYED_HEADER: "true"},
        media_type="application/json",
    )
