"""explainAccess(accountId, userId): an administrator asks whether a user can see and edit an
account, and why; the answer agrees with what that user actually gets (issue 16 point 8)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import EVERY_PERMISSION, Api

EXPLAIN = """
query($accountId: ID!, $userId: ID!) {
  explainAccess(accountId: $accountId, userId: $userId) { canView canEdit reasons }
}
"""
ASSIGNED = ("VIEW_ASSIGNED_ACCOUNTS", "EDIT_ASSIGNED_ACCOUNTS")

# name: (role, permissions, how the account relates to the user, canView, canEdit, reasons)
SCENARIOS: dict[str, tuple[str, tuple[str, ...], str | None, bool, bool, list[str]]] = {
    "an administrator, by role": (
        "ADMIN",
        (),
        None,
        True,
        True,
        [
            "Role ADMIN: an owner or administrator holds every right.",
            "May see Acme through VIEW_ALL_ACCOUNTS: every account of the firm.",
            "May edit Acme through EDIT_ALL_ACCOUNTS: every account of the firm.",
        ],
    ),
    "a viewer of all accounts who may edit none": (
        "STAFF",
        ("VIEW_ALL_ACCOUNTS",),
        None,
        True,
        False,
        [
            "Role STAFF: holds exactly the rights granted to them (VIEW_ALL_ACCOUNTS).",
            "May see Acme through VIEW_ALL_ACCOUNTS: every account of the firm.",
            "May not edit Acme: holds neither EDIT_ALL_ACCOUNTS nor EDIT_ASSIGNED_ACCOUNTS.",
        ],
    ),
    "a team member with the assigned rights": (
        "STAFF",
        ASSIGNED,
        "team",
        True,
        True,
        [
            "Role STAFF: holds exactly the rights granted to them "
            "(VIEW_ASSIGNED_ACCOUNTS, EDIT_ASSIGNED_ACCOUNTS).",
            "May see Acme through VIEW_ASSIGNED_ACCOUNTS: it is assigned to them as a team member.",
            "May edit Acme through EDIT_ASSIGNED_ACCOUNTS: it is assigned to them as a team "
            "member.",
        ],
    ),
    "the client owner with the assigned rights": (
        "STAFF",
        ASSIGNED,
        "owner",
        True,
        True,
        [
            "Role STAFF: holds exactly the rights granted to them "
            "(VIEW_ASSIGNED_ACCOUNTS, EDIT_ASSIGNED_ACCOUNTS).",
            "May see Acme through VIEW_ASSIGNED_ACCOUNTS: it is assigned to them as its client "
            "owner.",
            "May edit Acme through EDIT_ASSIGNED_ACCOUNTS: it is assigned to them as its client "
            "owner.",
        ],
    ),
    "an assigned-only user the account is not assigned to": (
        "STAFF",
        ASSIGNED,
        None,
        False,
        False,
        [
            "Role STAFF: holds exactly the rights granted to them "
            "(VIEW_ASSIGNED_ACCOUNTS, EDIT_ASSIGNED_ACCOUNTS).",
            "May not see Acme: VIEW_ASSIGNED_ACCOUNTS reaches only assigned accounts, and they "
            "are neither on its team nor its client owner.",
            "May not edit Acme: EDIT_ASSIGNED_ACCOUNTS reaches only assigned accounts, and they "
            "are neither on its team nor its client owner.",
        ],
    ),
    "an editor of all accounts who may see only assigned ones": (
        "STAFF",
        ("VIEW_ASSIGNED_ACCOUNTS", "EDIT_ALL_ACCOUNTS"),
        None,
        False,
        False,
        [
            "Role STAFF: holds exactly the rights granted to them "
            "(VIEW_ASSIGNED_ACCOUNTS, EDIT_ALL_ACCOUNTS).",
            "May not see Acme: VIEW_ASSIGNED_ACCOUNTS reaches only assigned accounts, and they "
            "are neither on its team nor its client owner.",
            "May edit Acme through EDIT_ALL_ACCOUNTS: every account of the firm. But an "
            "account they cannot see, they cannot edit.",
        ],
    ),
    "a user without any account right": (
        "STAFF",
        ("CREATE_ACCOUNTS",),
        None,
        False,
        False,
        [
            "Role STAFF: holds exactly the rights granted to them (CREATE_ACCOUNTS).",
            "May not see Acme: holds neither VIEW_ALL_ACCOUNTS nor VIEW_ASSIGNED_ACCOUNTS.",
            "May not edit Acme: holds neither EDIT_ALL_ACCOUNTS nor EDIT_ASSIGNED_ACCOUNTS.",
        ],
    ),
}


async def arrange(api: Api, scenario: str) -> tuple[str, str, str]:
    """The scenario's account and user: (account id, user id, the user's token)."""
    role, permissions, relation, *_ = SCENARIOS[scenario]
    user_id, token = await api.staff(*permissions, role=role)
    account_id = (await api.create_account("Acme"))["id"]
    if relation == "team":
        await api.ok("assignTeamMember", {"accountId": account_id, "userId": user_id})
    if relation == "owner":
        await api.enable_ownership()
        owner_id = await api.add_owner(user_id=user_id)
        await api.ok("assignClientOwner", {"accountId": account_id, "ownerId": owner_id})
    return account_id, user_id, token


async def explain(api: Api, account_id: str, user_id: str, token: str | None = None) -> Any:
    variables = {"accountId": account_id, "userId": user_id}
    return (await api.data(EXPLAIN, variables, token))["explainAccess"]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_the_explanation_names_the_role_the_right_and_the_assignment(
    api: Api, scenario: str
) -> None:
    *_, can_view, can_edit, reasons = SCENARIOS[scenario]
    account_id, user_id, _ = await arrange(api, scenario)

    explanation = await explain(api, account_id, user_id)

    assert explanation == {"canView": can_view, "canEdit": can_edit, "reasons": reasons}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_the_explanation_agrees_with_what_the_user_actually_gets(
    api: Api, scenario: str
) -> None:
    account_id, user_id, token = await arrange(api, scenario)
    explanation = await explain(api, account_id, user_id)

    seen = await api.data("query($id: ID!) { account(id: $id) { id } }", {"id": account_id}, token)
    body = await api.execute(
        "mutation($input: UpdateAccountInput!) { updateAccount(input: $input) "
        "{ account { name } userErrors { code } } }",
        {"input": {"accountId": account_id, "name": "Acme Renamed"}},
        token,
    )
    edited = not body.get("errors") and body["data"]["updateAccount"]["userErrors"] == []

    assert explanation["canView"] == (seen["account"] is not None)
    assert explanation["canEdit"] == edited


async def test_a_deactivated_user_can_neither_see_nor_edit(api: Api) -> None:
    user_id, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS")
    account_id = (await api.create_account("Acme"))["id"]
    await api.ok("updateUser", {"userId": user_id, "isActive": False})

    explanation = await explain(api, account_id, user_id)
    refused = await api.post("{ viewer { user { id } } }", token=token)

    assert explanation["canView"] is False and explanation["canEdit"] is False
    assert explanation["reasons"][0].endswith(
        "is deactivated: their tokens and keys no longer work."
    )
    assert refused.status_code == 401


async def test_an_account_or_user_of_another_firm_or_none_at_all_is_null(
    api: Api, other_firm: Api
) -> None:
    user_id, _ = await api.staff("VIEW_ALL_ACCOUNTS")
    account_id = (await api.create_account("Acme"))["id"]
    their_user, _ = await other_firm.staff("VIEW_ALL_ACCOUNTS")
    their_account = (await other_firm.create_account("Theirs"))["id"]

    for account, user in (
        (their_account, user_id),
        (account_id, their_user),
        ("not-an-id", user_id),
        (account_id, account_id),
    ):
        assert await explain(api, account, user) is None


@pytest.mark.parametrize("caller", ["staff", "key"])
async def test_only_an_owner_or_administrator_may_ask(api: Api, caller: str) -> None:
    user_id, token = await api.staff(*EVERY_PERMISSION)
    if caller == "key":
        created = await api.ok(
            "createApiKey", {"name": "Partner", "permissions": list(EVERY_PERMISSION)}, "key"
        )
        token = created["key"]
    account_id = (await api.create_account("Acme"))["id"]

    body = await api.execute(EXPLAIN, {"accountId": account_id, "userId": user_id}, token)

    assert body["data"] is None or body["data"]["explainAccess"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
