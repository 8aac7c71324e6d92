"""Mixed traffic against a running server, as a busy and partly hostile internet sends it:
queries of many shapes where every document is new (fresh operation names and aliases, so no
per-document cache ever sees the same text twice), searches, lookups of varying numbers of ids,
cursor paging, mutations, queries whose one failing field cancels the rest, malformed requests
and requests without a valid token."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import httpx

from bench.common import DASHBOARD

ACCOUNT_FIELDS = (
    "name",
    "customerNumber",
    "type",
    "status",
    "version",
    "createdAt",
    "updatedAt",
    "tags",
    "owner { name user { email } }",
    "teamMembers { name email role }",
    "contacts { roles description contact { fullName email emails } }",
    "customFields { key value }",
    "relatedAccounts { name }",
    "history(first: 3) { totalCount nodes { action occurredAt changes { field from to } } }",
)
CONTACT_FIELDS = (
    "firstName",
    "lastName",
    "fullName",
    "email",
    "emails",
    "phone",
    "version",
    "accounts { roles account { name } }",
    "history(first: 2) { nodes { action } }",
)
ORDER_FIELDS = ("NAME", "CUSTOMER_NUMBER", "CREATED_AT", "UPDATED_AT", "OWNER_NAME")
TAGS = ("vip", "b2b", "new", "gold", "eu", "nordic")
USER_ERRORS = "userErrors { field code message }"
DEEP = "relatedAccounts { " * 14 + "name" + " }" * 14

Body = dict[str, Any] | bytes


@dataclass
class Tally:
    """What was sent, by kind, and how the server answered, by status."""

    kinds: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())


class Traffic:
    """Request makers, picked at random by weight; `documents` numbers every new document."""

    def __init__(self, token: str, account_ids: list[str], rng: random.Random) -> None:
        self.token = token
        self.account_ids = account_ids
        self.rng = rng
        self.documents = count()
        self.tally = Tally()
        self.makers: dict[str, tuple[int, Callable[[httpx.AsyncClient], Awaitable[None]]]] = {
            "dashboard": (10, self.dashboard),
            "shaped": (25, self.shaped),
            "search": (10, self.search),
            "lookup": (10, self.lookup),
            "paging": (10, self.paging),
            "mutation": (10, self.mutation),
            "failing": (8, self.failing),
            "bad_request": (13, self.bad_request),
            "unauthenticated": (12, self.unauthenticated),
        }

    async def run(self, client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        names = list(self.makers)
        weights = [self.makers[name][0] for name in names]
        while not stop.is_set():
            name = self.rng.choices(names, weights)[0]
            self.tally.kinds[name] += 1
            try:
                await self.makers[name][1](client)
            except httpx.HTTPError as error:
                self.tally.failures[type(error).__name__] += 1

    async def post(
        self, client: httpx.AsyncClient, body: Body, *, token: str | None = None
    ) -> dict[str, Any] | None:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        if isinstance(body, bytes):
            headers["Content-Type"] = "application/json"
            response = await client.post("/graphql", content=body, headers=headers)
        else:
            response = await client.post("/graphql", json=body, headers=headers)
        self.tally.statuses[response.status_code] += 1
        if response.headers.get("content-type", "").startswith("application/json"):
            found = response.json()
            return found if isinstance(found, dict) else None
        return None

    def _name(self, prefix: str) -> str:
        return f"{prefix}{next(self.documents)}"

    async def dashboard(self, client: httpx.AsyncClient) -> None:
        await self.post(
            client, {"query": DASHBOARD, "variables": {"first": self.rng.randint(1, 50)}}
        )

    async def shaped(self, client: httpx.AsyncClient) -> None:
        """A document never seen before: its own operation name, aliases and field choice."""
        name = self._name("Shape")
        root = self.rng.choice(("accounts", "contacts", "owners", "viewer"))
        if root == "accounts":
            picked = self.rng.sample(ACCOUNT_FIELDS, self.rng.randint(1, 4))
            fields = " ".join(f"{name}f{i}: {picked[i]}" for i in range(len(picked)))
            order = self.rng.choice(ORDER_FIELDS)
            query = (
                f"query {name}($first: Int!) {{ {name}: accounts(first: $first, "
                f"orderBy: {{field: {order}}}) {{ totalCount nodes {{ id {fields} }} }} }}"
            )
        elif root == "contacts":
            picked = self.rng.sample(CONTACT_FIELDS, self.rng.randint(1, 4))
            fields = " ".join(f"{name}f{i}: {picked[i]}" for i in range(len(picked)))
            query = (
                f"query {name}($first: Int!) {{ contacts(first: $first) "
                f"{{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ id {fields} }} }} }}"
            )
        elif root == "owners":
            query = (
                f"query {name}($first: Int!) {{ {name}: clientOwners(first: $first) "
                f"{{ nodes {{ name accountCount accounts(first: 3) {{ nodes {{ name }} }} }} }} "
                f"users(first: $first) {{ nodes {{ name email permissions }} }} }}"
            )
        else:
            query = (
                f"query {name}($first: Int!) {{ viewer {{ user {{ {name}: name role }} "
                f"permissions notifications(first: $first) {{ totalCount }} }} }}"
            )
        await self.post(client, {"query": query, "variables": {"first": self.rng.randint(1, 30)}})

    async def search(self, client: httpx.AsyncClient) -> None:
        text = self.rng.choice(
            (f"account {self.rng.randint(0, 499):03}", "ann", "person 4", uuid.uuid4().hex[:8])
        )
        if self.rng.random() < 0.5:
            query = (
                "query($q: String!) { accounts(first: 10, filter: {search: $q}) "
                "{ totalCount nodes { name owner { name } } } }"
            )
        else:
            query = (
                "query($q: String!) { contacts(first: 10, filter: {search: $q}) "
                "{ totalCount nodes { fullName email } } }"
            )
        await self.post(client, {"query": query, "variables": {"q": text}})

    async def lookup(self, client: httpx.AsyncClient) -> None:
        """`nodes` with 1 to 40 ids: every length is a different IN list."""
        ids = self.rng.sample(self.account_ids, self.rng.randint(1, 40))
        query = (
            "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Account { name tags "
            "owner { name } contacts { contact { fullName } } } } }"
        )
        await self.post(client, {"query": query, "variables": {"ids": ids}})

    async def paging(self, client: httpx.AsyncClient) -> None:
        """Three pages in a random order, each after the previous page's cursor."""
        order = self.rng.choice(ORDER_FIELDS)
        direction = self.rng.choice(("ASC", "DESC"))
        query = (
            "query($after: String, $order: AccountOrderField!, $direction: OrderDirection!) { "
            "accounts(first: 25, after: $after, orderBy: {field: $order, direction: $direction}) "
            "{ pageInfo { hasNextPage endCursor } nodes { name customerNumber } } }"
        )
        after = None
        for _ in range(3):
            variables = {"after": after, "order": order, "direction": direction}
            found = await self.post(client, {"query": query, "variables": variables})
            try:
                after = found["data"]["accounts"]["pageInfo"]["endCursor"]  # type: ignore[index]
            except (KeyError, TypeError):
                return

    async def mutation(self, client: httpx.AsyncClient) -> None:
        """An account's tags changed, or a contact created, changed and deleted (the data stays
        the same size however long the load runs)."""
        if self.rng.random() < 0.5:
            account_input = {
                "accountId": self.rng.choice(self.account_ids),
                "tags": self.rng.sample(TAGS, self.rng.randint(0, 3)),
            }
            query = (
                "mutation($input: UpdateAccountInput!) { updateAccount(input: $input) "
                f"{{ account {{ id version tags }} {USER_ERRORS} }} }}"
            )
            await self.post(client, {"query": query, "variables": {"input": account_input}})
            return
        suffix = uuid.uuid4().hex[:10]
        created = await self.post(
            client,
            {
                "query": "mutation($input: CreateContactInput!) { createContact(input: $input) "
                f"{{ contact {{ id }} {USER_ERRORS} }} }}",
                "variables": {
                    "input": {
                        "firstName": "Load",
                        "lastName": f"Test {suffix}",
                        "email": f"load-{suffix}@example.com",
                    }
                },
            },
        )
        try:
            contact_id = created["data"]["createContact"]["contact"]["id"]  # type: ignore[index]
        except (KeyError, TypeError):
            return
        await self.post(
            client,
            {
                "query": "mutation($input: UpdateContactInput!) { updateContact(input: $input) "
                f"{{ contact {{ version fullName }} {USER_ERRORS} }} }}",
                "variables": {"input": {"contactId": contact_id, "phone": "+4520123456"}},
            },
        )
        await self.post(
            client,
            {
                "query": "mutation($input: DeleteContactInput!) { deleteContact(input: $input) "
                f"{{ deletedContactId {USER_ERRORS} }} }}",
                "variables": {"input": {"contactId": contact_id}},
            },
        )

    async def failing(self, client: httpx.AsyncClient) -> None:
        """A root field that fails (page too large, forged cursor, unknown id) while its
        siblings are still loading: the executor cancels them mid-flight."""
        name = self._name("Failing")
        failure = self.rng.choice(
            (
                "contacts(first: 5000) { totalCount }",
                'accounts(first: 5, after: "bm90IGEgY3Vyc29y") { totalCount }',
                'account(id: "QWNjb3VudDpub3BlCg==") { name }',
            )
        )
        query = (
            f"query {name} {{ slow: accounts(first: 50) {{ totalCount nodes {{ name tags "
            f"owner {{ name }} contacts {{ contact {{ fullName emails }} }} "
            f"relatedAccounts {{ name }} }} }} {name}: {failure} }}"
        )
        await self.post(client, {"query": query})

    async def bad_request(self, client: httpx.AsyncClient) -> None:
        """Syntax and validation errors in new documents, wrong variables, too deep, not JSON,
        JSON that is not an object."""
        name = self._name("Bad")
        bodies: tuple[Body, ...] = (
            {"query": f"query {name} {{ accounts(first: 1 {{ nodes {{ name }} }}"},
            {"query": f"query {name} {{ accounts(first: 1) {{ nodes {{ {name}: nope }} }} }}"},
            {"query": f"query {name} {{ accounts(first: 1) {{ nodes {{ nme{name} }} }} }}"},
            {
                "query": "query($first: Int!) { accounts(first: $first) { totalCount } }",
                "variables": {"first": name},
            },
            {"query": f"query {name} {{ accounts(first: 1) {{ nodes {{ {DEEP} }} }} }}"},
            b'{"query": "{ viewer { user { name } } }"',
            b'"{viewer{user{name}}}"',
            b"42",
        )
        await self.post(client, self.rng.choice(bodies))

    async def unauthenticated(self, client: httpx.AsyncClient) -> None:
        """No header, a forged token, or a token that is not a JWT at all."""
        choice = self.rng.randrange(3)
        body = {"query": f"query {self._name('Anon')} {{ viewer {{ user {{ name }} }} }}"}
        if choice == 0:
            response = await client.post("/graphql", json=body)
            self.tally.statuses[response.status_code] += 1
            return
        token = (
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0." + uuid.uuid4().hex
            if choice == 1
            else uuid.uuid4().hex
        )
        await self.post(client, body, token=token)
