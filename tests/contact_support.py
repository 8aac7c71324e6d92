"""Queries and helpers the contact tests share (contacts, their links to accounts, portal
invitations)."""

from __future__ import annotations

from typing import Any

from tests.support import Api

CONTACT_SELECTION = (
    "contact { id firstName lastName fullName email emails phone portalAccess version }"
)
CONTACT = """
query($id: ID!) {
  contact(id: $id) {
    id firstName lastName fullName email emails phone portalAccess version
    accounts { account { name } roles description }
  }
}
"""
CONTACT_HISTORY = """
query($id: ID!) {
  contact(id: $id) { history { nodes { action actor { name } changes { field from to } } } }
}
"""
ACCOUNT_CONTACTS = """
query($id: ID!) {
  account(id: $id) { version contacts { contact { fullName } roles description } }
}
"""
CONTACTS_FOUND = """
query($filter: ContactFilter) { contacts(filter: $filter) { totalCount nodes { fullName } } }
"""
ACCOUNTS_FOUND = """
query($search: String) { accounts(filter: {search: $search}) { totalCount nodes { name } } }
"""


async def create_contact(api: Api, first: str, last: str, **fields: Any) -> dict[str, Any]:
    payload = await api.ok(
        "createContact", {"firstName": first, "lastName": last, **fields}, CONTACT_SELECTION
    )
    return payload["contact"]


async def read_contact(api: Api, contact_id: str, token: str | None = None) -> Any:
    return (await api.data(CONTACT, {"id": contact_id}, token))["contact"]


async def contact_history(
    api: Api, contact_id: str, token: str | None = None
) -> list[dict[str, Any]]:
    data = await api.data(CONTACT_HISTORY, {"id": contact_id}, token)
    return data["contact"]["history"]["nodes"]


async def account_contacts(api: Api, account_id: str) -> list[dict[str, Any]]:
    return (await api.data(ACCOUNT_CONTACTS, {"id": account_id}))["account"]["contacts"]


async def account_version(api: Api, account_id: str) -> int:
    return (await api.data(ACCOUNT_CONTACTS, {"id": account_id}))["account"]["version"]


async def contacts_found(
    api: Api, filter_: dict[str, Any] | None = None, token: str | None = None
) -> list[str]:
    data = (await api.data(CONTACTS_FOUND, {"filter": filter_}, token))["contacts"]
    names = [node["fullName"] for node in data["nodes"]]
    assert data["totalCount"] == len(names)
    return names


async def account_with_contact(
    api: Api, name: str, contact_id: str, roles: list[str] | None = None, description: str = ""
) -> dict[str, Any]:
    link = {"contactId": contact_id, "roles": roles or [], "description": description or None}
    return await api.create_account(name, contacts=[link])


async def assigned_staff(api: Api, *permissions: str, accounts: list[str]) -> str:
    """A STAFF user whose address-book entry owns `accounts`: their token. Ownership gets
    switched on, so create every other account before calling this."""
    staff_id, token = await api.staff(*permissions, name="Sara Staff")
    await api.enable_ownership()
    entry = await api.add_owner(user_id=staff_id)
    for account_id in accounts:
        await api.ok("assignClientOwner", {"accountId": account_id, "ownerId": entry})
    return token
