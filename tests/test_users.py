"""Managing the firm's users: create, update, delete, search, and who may do it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import EVERY_PERMISSION, Api, errors_of, top_level_codes

USER_SELECTION = "user { id name email role permissions isActive }"
USER = """
query($id: ID!) {
  node(id: $id) {
    ... on User { id name email role permissions isActive clientOwner { id name } }
  }
}
"""
USERS = """
query($search: String) { users(search: $search) { totalCount nodes { name email } } }
"""
VIEWER_ID = "{ viewer { user { id } } }"
OWNERS = "{ clientOwners { nodes { id name user { id name } } } }"
CREATE_USER = """
mutation($input: CreateUserInput!) {
  createUser(input: $input) { user { id } userErrors { field code } }
}
"""


async def user_emails(api: Api, search: str | None = None) -> list[str]:
    data = await api.data(USERS, {"search": search})
    return sorted(node["email"] for node in data["users"]["nodes"])


async def read_user(api: Api, user_id: str) -> dict[str, Any]:
    return (await api.data(USER, {"id": user_id}))["node"]


async def viewer_id(api: Api) -> str:
    return (await api.data(VIEWER_ID))["viewer"]["user"]["id"]


# --- createUser ----------------------------------------------------------------------------


async def test_an_owner_creates_a_user_with_role_and_permissions(api: Api) -> None:
    payload = await api.ok(
        "createUser",
        {
            "name": " Anna Berg ",
            "email": "anna.berg@example.com",
            "role": "STAFF",
            "permissions": ["CREATE_ACCOUNTS", "VIEW_ALL_ACCOUNTS"],
        },
        USER_SELECTION,
    )

    user = payload["user"]
    assert {key: user[key] for key in ("name", "email", "role", "isActive")} == {
        "name": "Anna Berg",
        "email": "anna.berg@example.com",
        "role": "STAFF",
        "isActive": True,
    }
    assert sorted(user["permissions"]) == ["CREATE_ACCOUNTS", "VIEW_ALL_ACCOUNTS"]
    assert (await read_user(api, user["id"]))["email"] == "anna.berg@example.com"


async def test_staff_are_forbidden_to_create_users(api: Api) -> None:
    _, token = await api.staff(
        "VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", "CREATE_ACCOUNTS", "CREATE_CLIENT_USERS"
    )
    before = await user_emails(api)

    body = await api.execute(
        CREATE_USER, {"input": {"name": "Intruder", "email": "intruder@example.com"}}, token
    )

    assert top_level_codes(body) == ["FORBIDDEN"]
    assert await user_emails(api) == before


@pytest.mark.parametrize("email", ["not-an-email", "anna@", "@example.com", "an na@example.com"])
async def test_an_email_of_bad_syntax_is_invalid(api: Api, email: str) -> None:
    payload = await api.mutate("createUser", {"name": "Anna Berg", "email": email}, "user { id }")

    assert payload["user"] is None
    assert errors_of(payload) == [(["email"], "INVALID")]
    assert len(await user_emails(api)) == 1


async def test_an_email_used_in_the_firm_is_taken_whatever_its_case(api: Api) -> None:
    await api.ok("createUser", {"name": "Anna Berg", "email": "Anna.Berg@Example.com"})

    payload = await api.mutate(
        "createUser", {"name": "Anna Other", "email": "anna.berg@EXAMPLE.COM"}, "user { id }"
    )

    assert payload["user"] is None
    assert errors_of(payload) == [(["email"], "TAKEN")]
    assert len(await user_emails(api, "anna")) == 1


async def test_the_same_email_is_free_in_another_firm(api: Api, other_firm: Api) -> None:
    await other_firm.ok("createUser", {"name": "Anna Berg", "email": "anna@example.com"})

    payload = await api.ok(
        "createUser", {"name": "Anna Berg", "email": "anna@example.com"}, USER_SELECTION
    )

    assert payload["user"]["email"] == "anna@example.com"
    assert await user_emails(api, "anna@") == ["anna@example.com"]
    assert await user_emails(other_firm, "anna@") == ["anna@example.com"]


async def test_an_admin_is_forbidden_to_create_an_owner(api: Api) -> None:
    _, token = await api.staff(role="ADMIN")

    body = await api.execute(
        CREATE_USER,
        {"input": {"name": "New Boss", "email": "boss@example.com", "role": "OWNER"}},
        token,
    )

    assert top_level_codes(body) == ["FORBIDDEN"]
    assert await user_emails(api, "boss") == []


async def test_an_admin_may_create_staff_and_admins(api: Api) -> None:
    _, token = await api.staff(role="ADMIN")

    for role in ("STAFF", "ADMIN"):
        payload = await api.ok(
            "createUser",
            {"name": f"New {role}", "email": f"{role.lower()}@example.com", "role": role},
            "user { role }",
            token,
        )
        assert payload["user"] == {"role": role}


# --- updateUser ----------------------------------------------------------------------------


async def test_update_user_changes_name_role_permissions_and_activity(api: Api) -> None:
    user_id, _ = await api.staff("VIEW_ALL_ACCOUNTS", name="Anna Berg")

    payload = await api.ok(
        "updateUser",
        {
            "userId": user_id,
            "name": "Anna Lind",
            "role": "STAFF",
            "permissions": ["VIEW_ASSIGNED_ACCOUNTS", "EDIT_ASSIGNED_ACCOUNTS"],
            "isActive": False,
        },
        USER_SELECTION,
    )

    user = payload["user"]
    assert (user["id"], user["name"], user["role"], user["isActive"]) == (
        user_id,
        "Anna Lind",
        "STAFF",
        False,
    )
    assert sorted(user["permissions"]) == ["EDIT_ASSIGNED_ACCOUNTS", "VIEW_ASSIGNED_ACCOUNTS"]
    stored = await read_user(api, user_id)
    assert {key: stored[key] for key in ("name", "role", "isActive")} == {
        "name": "Anna Lind",
        "role": "STAFF",
        "isActive": False,
    }
    assert sorted(stored["permissions"]) == ["EDIT_ASSIGNED_ACCOUNTS", "VIEW_ASSIGNED_ACCOUNTS"]


async def test_update_user_promotes_staff_to_admin(api: Api) -> None:
    user_id, token = await api.staff(name="Anna Berg")

    await api.ok("updateUser", {"userId": user_id, "role": "ADMIN"})

    permissions = (await api.data("{ viewer { permissions } }", token=token))["viewer"]
    assert permissions["permissions"] == list(EVERY_PERMISSION)
    assert (await read_user(api, user_id))["role"] == "ADMIN"


async def test_update_user_leaves_omitted_fields_alone(api: Api) -> None:
    user_id, _ = await api.staff("CREATE_ACCOUNTS", name="Anna Berg")

    await api.ok("updateUser", {"userId": user_id, "isActive": False})

    stored = await read_user(api, user_id)
    assert (stored["name"], stored["role"], stored["permissions"], stored["isActive"]) == (
        "Anna Berg",
        "STAFF",
        ["CREATE_ACCOUNTS"],
        False,
    )


async def test_renaming_a_user_renames_their_address_book_entry(api: Api) -> None:
    user_id, _ = await api.staff(name="Anna Berg")
    await api.enable_ownership()
    entry = await api.add_owner(user_id=user_id)
    account = await api.create_account("Acme", ownerId=entry)

    await api.ok("updateUser", {"userId": user_id, "name": "Anna Lind"})

    owners = (await api.data(OWNERS))["clientOwners"]["nodes"]
    assert owners == [
        {"id": entry, "name": "Anna Lind", "user": {"id": user_id, "name": "Anna Lind"}}
    ]
    assert (await read_user(api, user_id))["clientOwner"] == {"id": entry, "name": "Anna Lind"}
    owner_of_account = await api.data(
        "query($id: ID!) { account(id: $id) { owner { name } } }", {"id": account["id"]}
    )
    assert owner_of_account == {"account": {"owner": {"name": "Anna Lind"}}}


async def test_the_last_active_owner_cannot_be_demoted(api: Api) -> None:
    owner_id = await viewer_id(api)

    payload = await api.mutate("updateUser", {"userId": owner_id, "role": "ADMIN"}, "user { id }")

    assert payload["user"] is None
    assert [code for _, code in errors_of(payload)] == ["INVALID"]
    assert (await read_user(api, owner_id))["role"] == "OWNER"


async def test_the_last_active_owner_cannot_be_deactivated(api: Api) -> None:
    owner_id = await viewer_id(api)

    payload = await api.mutate("updateUser", {"userId": owner_id, "isActive": False})

    assert [code for _, code in errors_of(payload)] == ["INVALID"]
    assert (await read_user(api, owner_id))["isActive"] is True


async def test_an_owner_may_be_demoted_while_another_active_owner_remains(api: Api) -> None:
    owner_id = await viewer_id(api)
    await api.staff(role="OWNER", name="Second Owner")

    payload = await api.ok("updateUser", {"userId": owner_id, "role": "ADMIN"}, "user { role }")

    assert payload["user"] == {"role": "ADMIN"}


async def test_an_inactive_second_owner_does_not_count_as_remaining(api: Api) -> None:
    owner_id = await viewer_id(api)
    second_id, _ = await api.staff(role="OWNER", name="Second Owner")
    await api.ok("updateUser", {"userId": second_id, "isActive": False})

    payload = await api.mutate("updateUser", {"userId": owner_id, "role": "ADMIN"})

    assert [code for _, code in errors_of(payload)] == ["INVALID"]
    assert (await read_user(api, owner_id))["role"] == "OWNER"


# --- users(search:) and deleteUser ---------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("Bo E", ["bo.special@consulting.se"]),
        ("ANNA", ["anna@berg.dk"]),
        ("special", ["bo.special@consulting.se"]),
        ("CONSULTING.SE", ["bo.special@consulting.se"]),
        ("berg", ["anna@berg.dk", "dora@example.org"]),
    ],
)
async def test_users_search_finds_by_name_or_email_ignoring_case(
    api: Api, term: str, found: list[str]
) -> None:
    await api.ok("createUser", {"name": "Anna Lind", "email": "anna@berg.dk"})
    await api.ok("createUser", {"name": "Bo Ek", "email": "bo.special@consulting.se"})
    await api.ok("createUser", {"name": "Dora Berggren", "email": "dora@example.org"})

    assert await user_emails(api, term) == found


async def test_deleting_yourself_is_invalid(api: Api) -> None:
    owner_id = await viewer_id(api)
    second_id, _ = await api.staff(role="OWNER", name="Second Owner")

    payload = await api.mutate("deleteUser", {"userId": owner_id}, "deletedUserId")

    assert payload["deletedUserId"] is None
    assert errors_of(payload) == [(["userId"], "INVALID")]
    assert (await read_user(api, owner_id))["id"] == owner_id
    assert (await read_user(api, second_id))["id"] == second_id


async def test_deactivating_the_last_active_owner_is_invalid_on_is_active(api: Api) -> None:
    owner_id = (await api.data("{ viewer { user { id } } }"))["viewer"]["user"]["id"]

    payload = await api.mutate(
        "updateUser", {"userId": owner_id, "isActive": False}, "user { isActive }"
    )

    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["isActive"], "INVALID")]
