"""Helpers the tests share: a GraphQL client bound to a firm, users with chosen rights,
and a counter of SQL statements."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from clientgraph.app import create_app
from clientgraph.auth.access_tokens import issue_token
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.ids import decode_id
from clientgraph.resolvers.firms import create_firm
from clientgraph.settings import Settings
from sqlalchemy import event, func, select, update
from sqlalchemy.engine import make_url

EVERY_PERMISSION = (
    "VIEW_ALL_ACCOUNTS",
    "VIEW_ASSIGNED_ACCOUNTS",
    "EDIT_ALL_ACCOUNTS",
    "EDIT_ASSIGNED_ACCOUNTS",
    "CREATE_ACCOUNTS",
    "DELETE_ACCOUNTS",
    "IMPORT_ACCOUNTS",
    "ASSIGN_ACCOUNTS",
    "CREATE_CLIENT_USERS",
    "EDIT_CLIENT_USER_RIGHTS",
    "DELETE_CLIENT_USERS",
    "READ_AUDIT_FEED",
)
SECRET = "test-secret-0123456789abcdef0123456789"
APP_ROLE = "clientgraph_app"
OWNER_URLS: dict[str, str] = {}
"""The tables' owner behind each test database the app connects to (filled by conftest)."""


UNTHROTTLED = 10**12
"""A node budget no test spends: scenarios about other things send many queries as one user
within a minute; tests/test_rate_limits.py sets the budgets it is about."""


def settings_for(url: str, **overrides: Any) -> Settings:
    overrides.setdefault("rate_limit_nodes_per_minute", UNTHROTTLED)
    overrides.setdefault("planner_strict", True)
    return Settings(database_url=url, secret=SECRET, app_role=APP_ROLE, **overrides)


def asyncpg_dsn(url: str) -> str:
    """`url` as asyncpg (or psql) spells it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def owner_url(db: Database) -> str:
    """`DATABASE_URL` for the CLI and migrations: the owner of `db`'s tables."""
    return OWNER_URLS.get(db.url, db.url)


class GraphQLErrors(AssertionError):
    pass


@dataclass
class Api:
    """Talks to the app over HTTP as one user of one firm."""

    http: httpx.AsyncClient
    db: Database
    firm_id: uuid.UUID
    user_id: uuid.UUID
    token: str
    _tokens: dict[str, str] = field(default_factory=dict)

    def token_for(self, user_id: uuid.UUID, *, ttl_seconds: int = 3600) -> str:
        return issue_token(SECRET, user_id=user_id, firm_id=self.firm_id, ttl_seconds=ttl_seconds)

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def execute(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The whole response body (data and errors) of a request that must answer 200."""
        response = await self.post(query, variables, token)
        assert response.status_code == 200, response.text
        return response.json()

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The data of an operation that must succeed without any top-level error."""
        body = await self.execute(query, variables, token)
        if body.get("errors"):
            raise GraphQLErrors(body["errors"])
        return body["data"]

    async def mutate(
        self, name: str, input: dict[str, Any], selection: str = "", token: str | None = None
    ) -> dict[str, Any]:
        """Run mutation `name` with `input`; its payload (userErrors always selected)."""
        input_type = name[0].upper() + name[1:] + "Input"
        query = (
            f"mutation($input: {input_type}!) {{ {name}(input: $input) "
            f"{{ {selection} userErrors {{ field code message }} }} }}"
        )
        return (await self.data(query, {"input": input}, token))[name]

    async def ok(
        self, name: str, input: dict[str, Any], selection: str = "", token: str | None = None
    ) -> dict[str, Any]:
        """Like `mutate`, for a mutation that must have no userErrors."""
        payload = await self.mutate(name, input, selection, token)
        assert payload["userErrors"] == [], payload["userErrors"]
        return payload

    async def staff(
        self, *permissions: str, name: str | None = None, role: str = "STAFF"
    ) -> tuple[str, str]:
        """A new user of this firm: (their global id, their token)."""
        name = name or f"Staff {uuid.uuid4().hex[:6]}"
        email = f"{uuid.uuid4().hex[:10]}@example.com"
        payload = await self.ok(
            "createUser",
            {"name": name, "email": email, "role": role, "permissions": list(permissions)},
            "user { id }",
        )
        global_id = payload["user"]["id"]
        user_uuid = decode_id(global_id, "User")
        assert user_uuid is not None
        return global_id, self.token_for(user_uuid)

    async def enable_ownership(self) -> None:
        await self.ok("updateFirmSettings", {"clientOwnershipEnabled": True})

    async def add_owner(self, *, name: str | None = None, user_id: str | None = None) -> str:
        input_ = {"name": name} if name is not None else {"userId": user_id}
        return (await self.ok("addClientOwner", input_, "clientOwner { id }"))["clientOwner"]["id"]

    async def create_account(self, name: str, **fields: Any) -> dict[str, Any]:
        payload = await self.ok(
            "createAccount",
            {"name": name, **fields},
            "account { id name version customerNumber owner { id name } tags }",
        )
        return payload["account"]


@contextlib.asynccontextmanager
async def new_firm(
    db: Database, *, admin_name: str = "Firm Owner", settings: Settings | None = None
) -> AsyncIterator[Api]:
    """A firm of its own for one test, so tests never see each other's rows; the app runs with
    `settings` when given (their database is `db` whatever they say)."""
    app = create_app(settings or settings_for(db.url), db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield await _firm_owner(db, http, admin_name)


@contextlib.asynccontextmanager
async def new_firm_served(db: Database, port: int) -> AsyncIterator[Api]:
    """A firm of its own, its owner talking HTTP to the server that listens on `port`."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        yield await _firm_owner(db, http, "Firm Owner")


async def _firm_owner(db: Database, http: httpx.AsyncClient, admin_name: str) -> Api:
    firm_id, user_id = await create_firm(
        db,
        name=f"Firm {uuid.uuid4().hex[:8]}",
        admin_email=f"owner-{uuid.uuid4().hex[:8]}@example.com",
        admin_name=admin_name,
    )
    token = issue_token(SECRET, user_id=user_id, firm_id=firm_id, ttl_seconds=3600)
    return Api(http=http, db=db, firm_id=firm_id, user_id=user_id, token=token)


@contextlib.asynccontextmanager
async def served_with(api: Api, settings: Settings) -> AsyncIterator[Api]:
    """`api`'s firm and user, served by another app over the same database that runs with
    `settings` (e.g. the other read path, or other limits)."""
    app = create_app(settings, api.db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield dataclasses.replace(api, http=http)


async def expire_every(api: Api, model: Any) -> None:
    """Every row of `model` (a table with `firm_id` and `expires_at`: links, invitations,
    refresh tokens) of the firm expired a second ago."""

    async def expire(session: Any) -> None:
        await session.execute(
            update(model)
            .where(model.firm_id == api.firm_id)
            .values(expires_at=models.utcnow() - timedelta(seconds=1))
        )

    await api.db.write(expire, firm_id=api.firm_id)


@contextlib.contextmanager
def count_statements(db: Database) -> Iterator[list[str]]:
    """Collects every SQL statement the engine sends while the block runs."""
    statements: list[str] = []
    with before_each_statement(db, statements.append):
        yield statements


@contextlib.contextmanager
def connection_lost_at(db: Database, prefix: str) -> Iterator[None]:
    """While the block runs, a statement starting with `prefix` fails as a reset connection
    does, before it reaches the database."""

    def cut_off(statement: str) -> None:
        if statement.startswith(prefix):
            raise OSError("connection reset by peer")

    with before_each_statement(db, cut_off):
        yield


@contextlib.contextmanager
def before_each_statement(db: Database, call: Callable[[str], None]) -> Iterator[None]:
    """`call` with the text of every SQL statement the engine sends while the block runs."""

    def before_cursor_execute(*args: Any) -> None:
        call(args[2])

    event.listen(db.engine.sync_engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", before_cursor_execute)


def without_cost(body: dict[str, Any]) -> dict[str, Any]:
    """A response body without its `extensions.cost`, for tests about something else that
    compare whole bodies."""
    extensions = {k: v for k, v in body.get("extensions", {}).items() if k != "cost"}
    rest = {k: v for k, v in body.items() if k != "extensions"}
    return {**rest, "extensions": extensions} if extensions else rest


STORED_KINDS = (
    models.Account,
    models.AccountTag,
    models.AccountTeamMember,
    models.AccountContact,
    models.Contact,
    models.ContactEmail,
    models.User,
    models.ClientOwner,
    models.AuditEvent,
    models.Notification,
    models.OutboxEvent,
    models.CustomFieldDefinition,
    models.ApiKey,
)


async def stored(api: Api) -> dict[str, Any]:
    """What any write of the firm changes: its rows of each kind, its settings, each account's
    owner and version, each contact's version and each user's state. Equal before and after
    an operation means it wrote nothing."""
    found: dict[str, Any] = {}
    async with api.db.firm_session(api.firm_id) as session:
        for model in STORED_KINDS:
            found[model.__tablename__] = await session.scalar(
                select(func.count()).select_from(model).where(model.firm_id == api.firm_id)
            )
        firm = await session.get_one(models.Firm, api.firm_id)
        found["settings"] = (
            firm.client_ownership_enabled,
            firm.customer_number_min_length,
            firm.customer_number_max_length,
        )
        account, contact, user = models.Account, models.Contact, models.User
        for name, statement in (
            ("accounts", select(account.id, account.owner_id, account.version, account.name)),
            ("contacts", select(contact.id, contact.version)),
            ("users", select(user.id, user.is_active, user.deleted_at, user.name, user.role)),
        ):
            rows = await session.execute(
                statement.where(statement.selected_columns[0].table.c.firm_id == api.firm_id)
            )
            found[name] = sorted(tuple(row) for row in rows)
    return found


def errors_of(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    """A mutation payload's userErrors as (field, code) pairs."""
    return [(error["field"], error["code"]) for error in payload["userErrors"]]


def top_level_codes(body: dict[str, Any]) -> list[str]:
    """The `extensions.code` of each top-level error of an answer."""
    return [error["extensions"]["code"] for error in body.get("errors") or []]


async def new_contact(
    api: Api, *account_ids: str, first: str = "Ann", last: str = "Hansen", **fields: Any
) -> str:
    """A contact linked to each of `account_ids`, its id; `fields` are more of createContact's
    input (`email`, `extraEmails`, …)."""
    links = [{"accountId": account_id} for account_id in account_ids]
    payload = await api.ok(
        "createContact",
        {"firstName": first, "lastName": last, "links": links, **fields},
        "contact { id }",
    )
    return payload["contact"]["id"]


async def eventually(check: Callable[[], bool | Awaitable[bool]], timeout: float = 30.0) -> None:
    """Wait until `check()` holds (it may be a coroutine function); fail if it does not within
    `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            held = check()
            if await held if inspect.isawaitable(held) else held:
                return
            await asyncio.sleep(0.05)
