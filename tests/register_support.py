"""Queries and helpers the customer-register tests share (account status and deletion, teams,
notifications, custom fields, account filters)."""

from __future__ import annotations

from typing import Any

from clientgraph.resolvers.register_csv.upload import BATCH_ACCOUNTS

from tests.support import Api

ACCOUNT = """
query($id: ID!) {
  account(id: $id) {
    id name status version tags
    owner { name }
    teamMembers { id name }
    contacts { contact { fullName } }
    history { totalCount nodes { action actor { name } changes { field from to } } }
  }
}
"""
ACCOUNT_VERSION = "query($id: ID!) { account(id: $id) { version history { totalCount } } }"
ACCOUNT_FIELDS = """
query($id: ID!) {
  account(id: $id) {
    version customFields { key label type value }
    history { totalCount nodes { action actor { name } changes { field from to } } }
  }
}
"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
ACCOUNTS = """
query($filter: AccountFilter, $orderBy: AccountOrder) {
  accounts(filter: $filter, orderBy: $orderBy) { totalCount nodes { name } }
}
"""
OWNERS = "{ clientOwners { nodes { name accountCount accounts { totalCount } } } }"
NOTIFICATIONS = """
query($first: Int, $after: String, $unreadOnly: Boolean! = false) {
  viewer {
    notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { id kind message readAt account { name } }
    }
  }
}
"""


def mutation_document(name: str, selection: str = "") -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) "
        f"{{ {selection} userErrors {{ field code }} }} }}"
    )


async def forbidden(api: Api, name: str, input_: dict[str, Any], token: str) -> None:
    """Run mutation `name` as `token`; it must fail whole with a top-level FORBIDDEN."""
    body = await api.execute(mutation_document(name), {"input": input_}, token)
    assert body["data"] is None
    assert [(error["path"], error["extensions"]["code"]) for error in body["errors"]] == [
        ([name], "FORBIDDEN")
    ]


async def read_account(api: Api, account_id: str, token: str | None = None) -> Any:
    return (await api.data(ACCOUNT, {"id": account_id}, token))["account"]


async def version_of(api: Api, account_id: str) -> tuple[int, int]:
    """The account's version and how many history events it has."""
    account = (await api.data(ACCOUNT_VERSION, {"id": account_id}))["account"]
    return account["version"], account["history"]["totalCount"]


async def names(
    api: Api,
    filter_: dict[str, Any] | None = None,
    order: dict[str, Any] | None = None,
    token: str | None = None,
) -> list[str]:
    data = await api.data(ACCOUNTS, {"filter": filter_, "orderBy": order}, token)
    listed = [node["name"] for node in data["accounts"]["nodes"]]
    assert data["accounts"]["totalCount"] == len(listed)
    return listed


async def notifications(api: Api, token: str | None = None, **arguments: Any) -> dict[str, Any]:
    return (await api.data(NOTIFICATIONS, arguments, token))["viewer"]["notifications"]


async def assign(api: Api, account_id: str, user_id: str, token: str | None = None) -> None:
    await api.ok("assignTeamMember", {"accountId": account_id, "userId": user_id}, token=token)


async def unassign(api: Api, account_id: str, user_id: str) -> None:
    await api.ok("unassignTeamMember", {"accountId": account_id, "userId": user_id})


async def define(
    api: Api,
    key: str,
    label: str,
    type_: str,
    options: list[str] | None = None,
    *,
    entity: str = "ACCOUNT",
) -> None:
    input_ = {"entity": entity, "key": key, "label": label, "type": type_}
    if options is not None:
        input_["options"] = options
    await api.ok("defineCustomField", input_)


async def account_fields(api: Api, account_id: str) -> dict[str, Any]:
    return (await api.data(ACCOUNT_FIELDS, {"id": account_id}))["account"]


async def values_of(api: Api, account_id: str) -> dict[str, str | None]:
    fields = (await account_fields(api, account_id))["customFields"]
    return {field["key"]: field["value"] for field in fields}


def several_batches(last_type: str) -> list[str]:
    """CSV rows (name, customer number, type) of more accounts than one import batch holds:
    "Wanted first" on the first row and "Wanted last", of type `last_type`, on the last."""
    rows = ["Wanted first,W-1,COMPANY"]
    rows += [f"Filler {index},F-{index},COMPANY" for index in range(BATCH_ACCOUNTS)]
    return [*rows, f"Wanted last,W-2,{last_type}"]


async def import_rows(api: Api, rows: list[str]) -> dict[str, Any]:
    """The report of uploading `rows` (name, customer number, type) to the register import."""
    response = await api.http.post(
        "/import/accounts.csv",
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "text/csv"},
        content="\r\n".join(["name,customer_number,type", *rows]).encode(),
    )
    assert response.status_code == 200, response.text
    return response.json()["report"]
