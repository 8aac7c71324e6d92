"""The register's account list filters through the API, on every backend: by type, by tags,
assigned to me, combined with an order."""

from __future__ import annotations

from tests.register_support import (
    assign,
    names,
)
from tests.support import Api


async def test_accounts_filter_by_type(api: Api) -> None:
    await api.create_account("Acme", type="COMPANY")
    await api.create_account("Eva Berg", type="INDIVIDUAL")
    await api.create_account("Family Lund", type="INDIVIDUAL")
    await api.create_account("Foundation", type="OTHER")

    assert await names(api, {"types": ["INDIVIDUAL"]}) == ["Eva Berg", "Family Lund"]
    assert await names(api, {"types": ["COMPANY", "OTHER"]}) == ["Acme", "Foundation"]


async def test_accounts_filter_by_tags_needs_every_tag(api: Api) -> None:
    await api.create_account("Acme", tags=["vip", "audit"])
    await api.create_account("Beta", tags=["vip"])
    await api.create_account("Gamma", tags=["audit"])

    assert await names(api, {"tags": ["vip"]}) == ["Acme", "Beta"]
    assert await names(api, {"tags": ["vip", "audit"]}) == ["Acme"]
    assert await names(api, {"tags": ["vip", "payroll"]}) == []


async def test_accounts_filter_assigned_to_me_lists_the_callers_team_accounts(api: Api) -> None:
    acme = await api.create_account("Acme")
    await api.create_account("Beta")
    gamma = await api.create_account("Gamma")
    me = (await api.data("{ viewer { user { id } } }"))["viewer"]["user"]["id"]
    other_id, _ = await api.staff()
    await assign(api, acme["id"], me)
    await assign(api, gamma["id"], other_id)

    assert await names(api, {"assignedToMe": True}) == ["Acme"]
    assert await names(api, {"assignedToMe": False}) == ["Acme", "Beta", "Gamma"]


async def test_register_filters_combine_with_an_order(api: Api) -> None:
    for name in ("Carl Ek", "Anna Ek", "Dora Ek", "Bo Ek"):
        await api.create_account(name, type="INDIVIDUAL", tags=["family"])
    await api.create_account("Ek AB", type="COMPANY", tags=["family"])
    await api.create_account("Erik Ek", type="INDIVIDUAL", tags=["other"])
    filter_ = {"types": ["INDIVIDUAL"], "tags": ["family"]}

    by_name = await names(api, filter_, {"field": "NAME", "direction": "DESC"})
    by_creation = await names(api, filter_, {"field": "CREATED_AT", "direction": "ASC"})

    assert by_name == ["Dora Ek", "Carl Ek", "Bo Ek", "Anna Ek"]
    assert by_creation == ["Carl Ek", "Anna Ek", "Dora Ek", "Bo Ek"]


async def test_assigned_to_me_combines_with_an_order(api: Api) -> None:
    staff_id, token = await api.staff("VIEW_ALL_ACCOUNTS")
    for name in ("Beta", "Delta", "Alfa", "Gamma"):
        account = await api.create_account(name)
        if name != "Gamma":
            await assign(api, account["id"], staff_id)
    order = {"field": "UPDATED_AT", "direction": "DESC"}

    listed = await names(api, {"assignedToMe": True}, order, token)

    assert listed == ["Alfa", "Delta", "Beta"]
