"""Partner API keys (API.md §3): bearer tokens that act as one user, made and revoked by an
administrator, never shown twice."""

from __future__ import annotations

import uuid

from tests.support import Api
from tests.test_cli import run_cli

VIEWER = "{ viewer { user { name } permissions } }"
KEY_FIELDS = "apiKey { id name createdAt revokedAt user { name } } key"
API_KEYS = "{ apiKeys { id name revokedAt user { name } } }"


async def _partner_key(api: Api, *permissions: str) -> tuple[str, str]:
    user_id, _ = await api.staff(*permissions, name="Partner Robot")
    payload = await api.ok("createApiKey", {"name": "Bank feed", "userId": user_id}, KEY_FIELDS)
    return payload["apiKey"]["id"], payload["key"]


async def test_an_api_key_acts_as_its_user_with_their_rights(api: Api) -> None:
    _, key = await _partner_key(api, "VIEW_ALL_ACCOUNTS")

    data = await api.data(VIEWER, token=key)

    assert data["viewer"] == {
        "user": {"name": "Partner Robot"},
        "permissions": ["VIEW_ALL_ACCOUNTS"],
    }


async def test_an_api_key_is_listed_without_its_secret(api: Api) -> None:
    key_id, key = await _partner_key(api)

    listed = (await api.data(API_KEYS))["apiKeys"]

    assert listed == [
        {"id": key_id, "name": "Bank feed", "revokedAt": None, "user": {"name": "Partner Robot"}}
    ]
    assert key.startswith("cgk_")


async def test_a_revoked_api_key_gets_401(api: Api) -> None:
    key_id, key = await _partner_key(api, "VIEW_ALL_ACCOUNTS")

    payload = await api.ok("revokeApiKey", {"apiKeyId": key_id}, "apiKey { revokedAt }")

    assert payload["apiKey"]["revokedAt"] is not None
    assert (await api.post(VIEWER, token=key)).status_code == 401


async def test_an_api_key_with_a_wrong_secret_gets_401(api: Api) -> None:
    _, key = await _partner_key(api)
    forged = key[: key.rindex("_") + 1] + "not-the-secret"

    assert (await api.post(VIEWER, token=forged)).status_code == 401
    assert (await api.post(VIEWER, token="cgk_nothex_secret")).status_code == 401
    assert (await api.post(VIEWER, token=f"cgk_{uuid.uuid4().hex}_x")).status_code == 401


async def test_the_key_of_a_deleted_user_gets_401(api: Api) -> None:
    user_id, _ = await api.staff(name="Leaving Robot")
    key = (await api.ok("createApiKey", {"name": "Old feed", "userId": user_id}, "key"))["key"]

    await api.ok("deleteUser", {"userId": user_id})

    assert (await api.post(VIEWER, token=key)).status_code == 401


async def test_only_an_administrator_manages_api_keys(api: Api) -> None:
    user_id, token = await api.staff(*["VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS"])

    created = await api.execute(
        "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }",
        {"input": {"name": "Sneaky", "userId": user_id}},
        token,
    )
    listed = await api.execute(API_KEYS, token=token)

    assert [e["extensions"]["code"] for e in created["errors"]] == ["FORBIDDEN"]
    assert [e["extensions"]["code"] for e in listed["errors"]] == ["FORBIDDEN"]
    assert (await api.data(API_KEYS))["apiKeys"] == []


async def test_a_key_for_another_firms_user_is_not_found(api: Api, other_firm: Api) -> None:
    stranger, _ = await other_firm.staff(name="Stranger")

    payload = await api.mutate("createApiKey", {"name": "X", "userId": stranger}, "key")

    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["userId"], "NOT_FOUND")]


async def test_create_api_key_on_the_command_line_prints_a_working_key(api: Api) -> None:
    email = f"robot-{uuid.uuid4().hex[:8]}@example.com"
    await api.ok("createUser", {"name": "CLI Robot", "email": email, "role": "STAFF"})

    result = await run_cli(api.db, "create-api-key", email, "--name", "Nightly export")

    assert result.returncode == 0, result.stderr
    data = await api.data(VIEWER, token=result.stdout.strip())
    assert data["viewer"]["user"] == {"name": "CLI Robot"}


NODE = "query($id: ID!) { node(id: $id) { id ... on ApiKey { name } } }"


async def test_an_api_key_is_a_node_for_administrators_only(api: Api) -> None:
    key_id, _ = await _partner_key(api)
    _, staff_token = await api.staff("VIEW_ALL_ACCOUNTS")

    assert (await api.data(NODE, {"id": key_id}))["node"] == {"id": key_id, "name": "Bank feed"}
    assert (await api.data(NODE, {"id": key_id}, staff_token))["node"] is None
