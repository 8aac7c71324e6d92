"""What each PostgreSQL transaction may see and how long it may take.

Row-level security (migration 0003) shows a transaction only the rows of the firm named by the
setting `app.firm_id`; a transaction that names none sees no rows at all. Every transaction a
session begins therefore starts with one statement that sets, transaction-locally
(`set_config(..., true)`, so nothing leaks to the next user of a pooled connection):

- `app.firm_id`, the firm the session works for (`session.info[FIRM]`);
- `app.api_key_id`, the one API key a request may look up before it knows its firm
  (`session.info[API_KEY]`; the key's row names the firm);
- the sign-in lookups (migration 0005), each letting a transaction read the few rows one
  sign-in needs before it knows its firm: `app.sign_in_email` (the live users with that
  folded e-mail, and their firms), `app.refresh_token_hash` (one refresh token),
  `app.password_token_id` (one set-password link) (`session.info[LOOKUP]`);
- `app.all_firms`, which the tables' owner sets for operator commands that search every firm
  (`session.info[ALL_FIRMS]`; a policy honours it for the owner only, never for the app role);
- `statement_timeout`, `lock_timeout` and `idle_in_transaction_session_timeout`;
- `jit` off: a request's statements are short, and compiling one past `jit_above_cost` (a
  count over a large firm seen through an assigned-only user's rights) took 250 ms of 290.

SQLite has neither row-level security nor these timeouts, so nothing is sent there.

On a connection of the server's engines (`SettingsAtBegin`, db/engine.py) that statement
travels with the transaction's BEGIN, in the one message of PostgreSQL's simple query
protocol, its values written as literals: a read costs one round trip fewer (BEGIN and the
settings, the data, ROLLBACK). A write asks for its transaction id in its closing statement
(db/closing.py).
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

FIRM = "clientgraph.firm_id"
API_KEY = "clientgraph.api_key_id"
ALL_FIRMS = "clientgraph.all_firms"
LOOKUP = "clientgraph.lookup"
LOOKUPS = ("sign_in_email", "refresh_token_hash", "password_token_id")
"""The sign-in lookups' settings, each `app.<name>`."""

TIMEOUT_SQLSTATES = frozenset({"55P03", "57014"})
"""lock_not_available (lock_timeout) and query_canceled (statement_timeout or a cancel)."""

WRITE_OPTION = "clientgraph_write"
"""The execution option of the engine that write transactions run on (`Database.write`)."""

_SETTINGS = (
    "SELECT set_config('app.firm_id', :firm, true),"
    " set_config('app.api_key_id', :api_key, true),"
    " set_config('app.all_firms', :all_firms, true),"
    " set_config('app.sign_in_email', :sign_in_email, true),"
    " set_config('app.refresh_token_hash', :refresh_token_hash, true),"
    " set_config('app.password_token_id', :password_token_id, true),"
    " set_config('statement_timeout', :statement, true),"
    " set_config('lock_timeout', :lock, true),"
    " set_config('idle_in_transaction_session_timeout', :idle, true),"
    " set_config('jit', 'off', true)"
)
_BEGIN = text(_SETTINGS)
SCRIPTS_CACHED = 1024
"""Settings scripts kept per session class, one per firm and API key (about 700 bytes each)."""
_PLACEHOLDER = re.compile(r":(\w+)")


def literal(value: str) -> str:
    """`value` as a PostgreSQL string literal, whatever `standard_conforming_strings` says
    (an escape string: backslashes and quotes doubled). PostgreSQL's text holds no NUL."""
    if "\x00" in value:
        raise ValueError("a setting cannot hold NUL")
    return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def settings_script(values: dict[str, str]) -> str:
    """`_SETTINGS` with `values` written in as literals, for the simple query protocol: one
    pass over the template, so that no value is read as a placeholder."""
    return _PLACEHOLDER.sub(lambda found: literal(values[found.group(1)]), _SETTINGS)


class SettingsAtBegin(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection that sends the settings a session left with `settings_at_begin`
    in the same message as the next BEGIN (which asyncpg's `Transaction.start` sends through
    `execute`). Used up by that BEGIN and by nothing else (a statement sent before it leaves
    them for it), and dropped whenever the pool takes the connection back, so no later
    transaction begins with them."""

    settings_at_begin: str | None = None

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:
        pending = self.settings_at_begin
        if pending is not None and not args and query.startswith("BEGIN"):
            self.settings_at_begin = None
            query = f"{query} {pending};"
        return await super().execute(query, *args, timeout=timeout)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds; 0 switches a limit off."""

    statement_s: float = 5.0
    lock_s: float = 5.0
    idle_in_transaction_s: float = 30.0


def _milliseconds(seconds: float) -> str:
    """PostgreSQL's unit; a limit below a millisecond stays a limit (0 would switch it off)."""
    return "0" if seconds <= 0 else str(max(1, round(seconds * 1000)))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def session_class(timeouts: Timeouts) -> type[Session]:
    """A Session class whose transactions begin by setting the firm and the timeouts."""

    class TenantSession(Session):
        pass

    def values_of(
        firm: str, api_key: str, all_firms: str, lookup: dict[str, Any]
    ) -> dict[str, str]:
        return {
            "firm": firm,
            "api_key": api_key,
            "all_firms": all_firms,
            **{name: _text(lookup.get(name)) for name in LOOKUPS},
            "statement": _milliseconds(timeouts.statement_s),
            "lock": _milliseconds(timeouts.lock_s),
            "idle": _milliseconds(timeouts.idle_in_transaction_s),
        }

    @functools.lru_cache(maxsize=SCRIPTS_CACHED)
    def script_of(firm: str, api_key: str, all_firms: str) -> str:
        """The script of a transaction without a sign-in lookup: the same for every request
        of a firm, and writing its literals was 4 % of a planned read's instructions
        (callgrind, a diagnosis: the account page 2.57 against 2.47 M)."""
        return settings_script(values_of(firm, api_key, all_firms, {}))

    @event.listens_for(TenantSession, "after_begin")
    def after_begin(session: Session, _: SessionTransaction, connection: Connection) -> None:
        if connection.dialect.name != "postgresql":
            return
        lookup = session.info.get(LOOKUP, {})
        firm = _text(session.info.get(FIRM))
        api_key = _text(session.info.get(API_KEY))
        all_firms = "on" if session.info.get(ALL_FIRMS) else ""
        driver = connection.connection.driver_connection
        if isinstance(driver, SettingsAtBegin) and not driver.is_in_transaction():
            driver.settings_at_begin = (
                settings_script(values_of(firm, api_key, all_firms, lookup))
                if lookup
                else script_of(firm, api_key, all_firms)
            )
            return
        connection.execute(_BEGIN, values_of(firm, api_key, all_firms, lookup))

    return TenantSession


def for_firm(firm_id: uuid.UUID | None) -> dict[str, Any]:
    """`info` for a session that works for one firm."""
    return {FIRM: firm_id}


def every_firm() -> dict[str, Any]:
    """`info` for an operator session (the tables' owner) that searches every firm."""
    return {ALL_FIRMS: True}


async def set_firm(session: AsyncSession, firm_id: uuid.UUID) -> None:
    """Let `session` see `firm_id` from now on, in this transaction and the ones after."""
    session.info[FIRM] = firm_id
    session.info.pop(API_KEY, None)
    session.info.pop(LOOKUP, None)
    if session.in_transaction() and session.bind.dialect.name == "postgresql":
        await session.execute(
            select(
                func.set_config("app.firm_id", str(firm_id), True),
                func.set_config("app.api_key_id", "", True),
                *(func.set_config(f"app.{name}", "", True) for name in LOOKUPS),
            )
        )


def allow_api_key(session: AsyncSession, key_id: uuid.UUID) -> None:
    """Let the session's next transaction read the row of API key `key_id`, before the firm is
    known. Call it before the session's first statement."""
    session.info[API_KEY] = key_id


def for_lookup(name: str, value: object) -> dict[str, Any]:
    """`info` for a session whose transactions may read what sign-in lookup `name` (one of
    LOOKUPS) shows for `value`, and nothing else."""
    if name not in LOOKUPS:
        raise ValueError(f"unknown lookup {name!r}")
    return {LOOKUP: {name: value}}


def is_timeout(error: BaseException) -> bool:
    """Whether the database gave up on a statement: a lock wait or the statement ran too long."""
    return isinstance(error, DBAPIError) and (
        getattr(error.orig, "sqlstate", None) in TIMEOUT_SQLSTATES
    )
