"""The planned read path answers the dashboard and the account page exactly as Strawberry's
executor does (same JSON, key order included), for an owner and for an assigned-only user."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from clientgraph.app import create_app
from clientgraph.db.engine import Database

from bench.operations import ACCOUNT_PAGE, DASHBOARD
from tests.support import Api, new_firm, settings_for


@contextlib.asynccontextmanager
async def generic_client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The same service with the planned read path switched off."""
    app = create_app(settings_for(db.url, planned_reads=False), db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def answers(
    api: Api, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> tuple[httpx.Response, httpx.Response]:
    """(planned, generic) responses to one request."""
    payload = {"query": query, "variables": variables or {}}
    headers = {"Authorization": f"Bearer {token or api.token}"}
    planned = await api.http.post("/graphql", json=payload, headers=headers)
    async with generic_client(api.db) as http:
        generic = await http.post("/graphql", json=payload, headers=headers)
    return planned, generic


async def assert_same(
    api: Api,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
    *,
    deep: bool = False,
) -> dict[str, Any]:
    """The planned answer equals the generic one, byte for byte. A `deep` operation may be
    answered generically on SQLite, whose parser stack bounds how deep one statement nests."""
    planned, generic = await answers(api, query, variables, token)
    assert generic.headers.get("X-Read-Path") == "generic", (generic.status_code, generic.text)
    if not (deep and api.db.dialect == "sqlite"):
        assert planned.headers.get("X-Read-Path") == "planned", (planned.status_code, planned.text)
    assert planned.status_code == generic.status_code == 200
    assert planned.json() == generic.json()
    assert planned.content == generic.content
    return planned.json()


async def seed_clients(api: Api) -> dict[str, Any]:
    """Three accounts with owners, team members, tags, shared contacts and history."""
    await api.enable_ownership()
    member_id, member_token = await api.staff("VIEW_ASSIGNED_ACCOUNTS", name="Ærø Member")
    owner_with_user = await api.add_owner(user_id=member_id)
    owner_by_name = await api.add_owner(name="Zed Named")
    shared = await api.ok(
        "createContact",
        {
            "firstName": "Åse",
            "lastName": "Shared",
            "email": "ase@example.com",
            "phone": "+4520123456",
        },
        "contact { id }",
    )
    shared_id = shared["contact"]["id"]
    first = await api.create_account(
        "Beta Ltd",
        ownerId=owner_with_user,
        tags=["vip", "north"],
        customerNumber="C-1",
        contacts=[
            {"contactId": shared_id, "roles": ["COMMERCIAL", "OPERATIONAL"], "description": "Boss"},
            {"newContact": {"firstName": "Bob", "lastName": "Alpha"}, "roles": []},
        ],
    )
    second = await api.create_account(
        "alpha corp",
        ownerId=owner_by_name,
        contacts=[{"contactId": shared_id, "roles": ["OPERATIONAL"]}],
    )
    third = await api.create_account(
        "Gamma",
        ownerId=owner_by_name,
        type="INDIVIDUAL",
        contacts=[
            {"newContact": {"firstName": "Cy", "lastName": "Solo", "email": "cy@example.com"}}
        ],
    )
    await api.ok("assignTeamMember", {"accountId": third["id"], "userId": member_id})
    await api.ok(
        "updateAccount", {"accountId": first["id"], "name": "Beta Limited", "tags": ["vip"]}
    )
    return {
        "accounts": [first["id"], second["id"], third["id"]],
        "member_token": member_token,
    }


@pytest.fixture
async def clients(api: Api) -> dict[str, Any]:
    return await seed_clients(api)


async def test_the_dashboard_is_planned_and_identical_for_an_owner(
    api: Api, clients: dict[str, Any]
) -> None:
    body = await assert_same(api, DASHBOARD)
    assert body["data"]["accounts"]["totalCount"] == 3


async def test_the_dashboard_is_planned_and_identical_for_an_assigned_only_user(
    api: Api, clients: dict[str, Any]
) -> None:
    body = await assert_same(api, DASHBOARD, token=clients["member_token"])
    names = [node["name"] for node in body["data"]["accounts"]["nodes"]]
    assert names == ["Beta Limited", "Gamma"]


@pytest.mark.parametrize("index", [0, 1, 2])
async def test_the_account_page_is_planned_and_identical_for_an_owner(
    api: Api, clients: dict[str, Any], index: int
) -> None:
    body = await assert_same(api, ACCOUNT_PAGE, {"id": clients["accounts"][index]})
    assert body["data"]["account"]["id"] == clients["accounts"][index]


@pytest.mark.parametrize("index", [0, 1, 2])
async def test_the_account_page_is_planned_and_identical_for_an_assigned_only_user(
    api: Api, clients: dict[str, Any], index: int
) -> None:
    await assert_same(
        api, ACCOUNT_PAGE, {"id": clients["accounts"][index]}, token=clients["member_token"]
    )


async def test_one_cached_plan_serves_each_caller_only_their_own_accounts(
    api: Api, clients: dict[str, Any]
) -> None:
    """Callers of the same shape share a plan, never each other's rows: ids are parameters."""
    other_id, other_token = await api.staff("VIEW_ASSIGNED_ACCOUNTS", name="Other Member")
    alpha = clients["accounts"][1]
    await api.ok("assignTeamMember", {"accountId": alpha, "userId": other_id})
    async with new_firm(api.db) as stranger:
        await stranger.create_account("Stranger's own")
        seen = {}
        for name, client, token in (
            ("member", api, clients["member_token"]),
            ("other", api, other_token),
            ("stranger", stranger, None),
            ("owner", api, None),
        ):
            body = await assert_same(client, DASHBOARD, token=token)
            seen[name] = [node["name"] for node in body["data"]["accounts"]["nodes"]]
    assert seen == {
        "member": ["Beta Limited", "Gamma"],
        "other": ["alpha corp"],
        "stranger": ["Stranger's own"],
        "owner": ["alpha corp", "Beta Limited", "Gamma"],
    }
