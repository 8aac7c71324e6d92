"""`Idempotency-Key` on mutations (issue 16 point 5, API.md §9): the same key and request from
the same caller within 24 hours run once and replay the answer; another request with the key is
IDEMPOTENCY_KEY_REUSED; a key still running is IDEMPOTENCY_KEY_IN_USE; a request that changed
nothing releases its key."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.ids import decode_id
from clientgraph.resolvers.context import Context
from clientgraph.web.idempotency import LEASE_MARGIN, PURGE_BATCH, IdempotencyKeys
from sqlalchemy import func, select

from tests.support import (
    Api,
    connection_lost_at,
    expire_every,
    new_firm,
    served_with,
    settings_for,
)

CREATE_ACCOUNT = (
    "mutation($name: String!) { createAccount(input: {name: $name}) "
    "{ account { id name } userErrors { code } } }"
)
ACCOUNT_COUNT = "{ accounts { totalCount } }"


async def send(
    api: Api,
    key: str | bytes | list[str],
    query: str = CREATE_ACCOUNT,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> httpx.Response:
    keys = key if isinstance(key, list) else [key]
    headers = [("Authorization", f"Bearer {token or api.token}")]
    headers += [("Idempotency-Key", value) for value in keys]
    body = {"query": query, "variables": {"name": "Acme"} if variables is None else variables}
    return await api.http.post("/graphql", json=body, headers=headers)


async def account_count(api: Api) -> int:
    return (await api.data(ACCOUNT_COUNT))["accounts"]["totalCount"]


async def stored_keys(api: Api) -> int:
    async def count(session: Any) -> int:
        rows = select(func.count()).where(models.IdempotencyKey.firm_id == api.firm_id)
        return (await session.execute(rows)).scalar_one()

    return await api.db.write(count, firm_id=api.firm_id)


def error_code(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


async def test_a_repeated_mutation_replays_its_answer_and_creates_one_account(api: Api) -> None:
    first = await send(api, "order-1")
    again = await send(api, "order-1")

    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await account_count(api) == 1


async def test_the_same_key_with_another_request_is_refused_as_reused(api: Api) -> None:
    await send(api, "order-1", variables={"name": "Acme"})

    response = await send(api, "order-1", variables={"name": "Other"})

    assert response.status_code == 422
    assert error_code(response) == "IDEMPOTENCY_KEY_REUSED"
    assert await account_count(api) == 1


async def another_user(api: Api) -> str:
    return (await api.staff("CREATE_ACCOUNTS", "VIEW_ALL_ACCOUNTS"))[1]


async def an_api_key_of_the_caller(api: Api) -> str:
    permissions = ["CREATE_ACCOUNTS", "VIEW_ALL_ACCOUNTS"]
    payload = await api.ok("createApiKey", {"name": "Feed", "permissions": permissions}, "key")
    return payload["key"]


@pytest.mark.parametrize("other_caller", [another_user, an_api_key_of_the_caller])
async def test_a_key_is_the_callers_own_so_another_caller_with_it_runs(
    api: Api, other_caller: Callable[[Api], Awaitable[str]]
) -> None:
    token = await other_caller(api)
    mine = await send(api, "order-1")

    theirs = await send(api, "order-1", token=token)

    assert theirs.status_code == 200
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["data"] != mine.json()["data"]
    assert await account_count(api) == 2


async def test_a_users_new_token_replays_what_their_first_token_sent(api: Api) -> None:
    first = await send(api, "order-1")

    again = await send(api, "order-1", token=api.token_for(api.user_id, ttl_seconds=600))

    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert await account_count(api) == 1


async def test_another_firm_with_the_same_key_runs_on_its_own(api: Api, other_firm: Api) -> None:
    await send(api, "order-1")

    response = await send(other_firm, "order-1")

    assert "Idempotent-Replayed" not in response.headers
    assert await account_count(other_firm) == 1
    assert await account_count(api) == 1


async def test_a_key_still_running_is_in_use_for_a_second_request(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, go_on = asyncio.Event(), asyncio.Event()
    write = Context.write

    async def held_back(self: Context, work: Callable[[Any], Awaitable[Any]]) -> Any:
        entered.set()
        await go_on.wait()
        return await write(self, work)

    monkeypatch.setattr(Context, "write", held_back)
    first = asyncio.create_task(send(api, "order-1"))
    await entered.wait()

    second = await send(api, "order-1")
    go_on.set()

    assert second.status_code == 409
    assert error_code(second) == "IDEMPOTENCY_KEY_IN_USE"
    assert second.headers["Retry-After"] == "1"
    assert (await first).status_code == 200
    assert await account_count(api) == 1


async def test_two_requests_sent_at_once_with_one_key_create_one_account(api: Api) -> None:
    answers = await asyncio.gather(send(api, "order-1"), send(api, "order-1"))

    assert sorted(answer.status_code for answer in answers) in ([200, 200], [200, 409])
    assert await account_count(api) == 1


async def test_a_request_the_database_fails_answers_503_and_releases_its_key(
    api: Api, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "write_attempts", 1)

    with connection_lost_at(database, "INSERT INTO accounts"):
        failed = await send(api, "order-1")
    retried = await send(api, "order-1")

    assert failed.status_code == 503
    assert retried.status_code == 200
    assert "Idempotent-Replayed" not in retried.headers
    assert await account_count(api) == 1


async def test_an_answer_the_database_cannot_keep_is_still_given_and_its_key_stays_in_use(
    api: Api, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "write_attempts", 1)

    with connection_lost_at(database, "UPDATE idempotency_keys"):
        answered = await send(api, "order-1")
    again = await send(api, "order-1")

    assert answered.status_code == 200
    assert answered.json()["data"]["createAccount"]["account"]["name"] == "Acme"
    assert error_code(again) == "IDEMPOTENCY_KEY_IN_USE"
    assert await account_count(api) == 1


async def test_a_claim_whose_request_never_settled_it_lapses_with_its_lease(api: Api) -> None:
    async def abandoned(session: Any) -> None:
        session.add(
            models.IdempotencyKey(
                firm_id=api.firm_id,
                principal=f"user:{api.user_id}",
                key="order-1",
                request_hash="0" * 64,
                state="IN_PROGRESS",
                expires_at=models.utcnow() - timedelta(seconds=1),
            )
        )

    await api.db.write(abandoned, firm_id=api.firm_id)

    response = await send(api, "order-1")

    assert response.json()["data"]["createAccount"]["account"]["name"] == "Acme"
    assert await account_count(api) == 1


async def test_a_mutation_that_changed_nothing_releases_its_key(api: Api) -> None:
    refused = await send(api, "order-1", variables={"name": ""})
    corrected = await send(api, "order-1", variables={"name": "Acme"})

    assert refused.json()["data"]["createAccount"]["userErrors"] != []
    assert corrected.json()["data"]["createAccount"]["account"]["name"] == "Acme"
    assert await account_count(api) == 1


async def test_an_expired_key_runs_the_request_again(api: Api) -> None:
    await send(api, "order-1")
    await expire_every(api, models.IdempotencyKey)

    again = await send(api, "order-1")

    assert "Idempotent-Replayed" not in again.headers
    assert await account_count(api) == 2
    assert await stored_keys(api) == 1


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("k" * 256, id="longer-than-255"),
        pytest.param("tab\there", id="control-character"),
        pytest.param("caf\u00e9".encode(), id="not-ascii"),
        pytest.param(["order-1", "order-2"], id="sent-twice"),
    ],
)
async def test_a_malformed_key_is_refused_with_400_and_runs_nothing(
    api: Api, key: str | bytes | list[str]
) -> None:
    response = await send(api, key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"][0]["message"]
    assert await account_count(api) == 0


async def test_a_key_of_255_printable_characters_is_taken(api: Api) -> None:
    response = await send(api, "~ !" * 85)

    assert response.status_code == 200
    assert await account_count(api) == 1


async def test_a_query_with_the_header_just_runs_and_keeps_nothing(api: Api) -> None:
    before = await send(api, "read-1", ACCOUNT_COUNT, {})
    await api.create_account("Acme")
    after = await send(api, "read-1", ACCOUNT_COUNT, {})

    assert before.json()["data"]["accounts"]["totalCount"] == 0
    assert after.json()["data"]["accounts"]["totalCount"] == 1
    assert await stored_keys(api) == 0


SECRET_BEARING = {
    "api-key": (
        "mutation($name: String!) { createApiKey(input: {name: $name, "
        "permissions: [VIEW_ALL_ACCOUNTS]}) { key apiKey { id } userErrors { code } } }",
        "key",
    ),
    "webhook-aliased": (
        "mutation($name: String!) { made: createWebhook(input: {url: "
        '"https://93.184.215.14/hook", events: ["account.created"], description: $name}) '
        "{ secret webhook { id } userErrors { code } } }",
        "secret",
    ),
}


@pytest.mark.parametrize(("query", "secret_field"), SECRET_BEARING.values(), ids=SECRET_BEARING)
async def test_an_answer_carrying_a_secret_is_not_stored_and_a_retry_is_told_it_ran(
    api: Api, query: str, secret_field: str
) -> None:
    first = await send(api, "secret-1", query=query)
    again = await send(api, "secret-1", query=query)

    [payload] = first.json()["data"].values()
    secret = payload[secret_field]
    assert first.status_code == 200 and secret
    assert again.status_code == 409
    assert error_code(again) == "IDEMPOTENCY_ANSWER_NOT_KEPT"
    assert secret not in again.text

    async def bodies(session: Any) -> list[str | None]:
        rows = select(models.IdempotencyKey.body).where(
            models.IdempotencyKey.firm_id == api.firm_id
        )
        return list((await session.execute(rows)).scalars())

    stored = await api.db.write(bodies, firm_id=api.firm_id)
    assert stored and not any(secret in (body or "") for body in stored)


async def test_a_secret_mutation_behind_a_fragment_is_found(api: Api) -> None:
    query = (
        "mutation M($name: String!) { ...Make } fragment Make on Mutation { createApiKey("
        "input: {name: $name, permissions: [VIEW_ALL_ACCOUNTS]}) { key } }"
    )
    await send(api, "secret-2", query=query)

    again = await send(api, "secret-2", query=query)

    assert error_code(again) == "IDEMPOTENCY_ANSWER_NOT_KEPT"


@contextlib.asynccontextmanager
async def served(api: Api, **values: Any) -> AsyncIterator[Api]:
    async with served_with(api, settings_for(api.db.url, **values)) as client:
        yield client


async def test_a_caller_past_the_key_limit_gets_429_and_nothing_runs(api: Api) -> None:
    async with served(api, idempotency_max_keys_per_caller=3) as client:
        kept = [await send(client, f"order-{number}") for number in range(3)]
        refused = await send(client, "order-3")
        replayed = await send(client, "order-0")
        without_key = await client.data(CREATE_ACCOUNT, {"name": "No key"})

    assert [response.status_code for response in kept] == [200] * 3
    assert (refused.status_code, error_code(refused)) == (429, "IDEMPOTENCY_KEY_LIMIT")
    assert "Retry-After" in refused.headers
    assert (replayed.status_code, replayed.headers.get("Idempotent-Replayed")) == (200, "true")
    assert without_key["createAccount"]["userErrors"] == []
    assert await account_count(api) == 4
    assert await stored_keys(api) == 3


async def test_the_key_limit_is_each_callers_own(api: Api) -> None:
    staff_token = await another_user(api)
    async with served(api, idempotency_max_keys_per_caller=1) as client:
        await send(client, "order-1")
        refused = await send(client, "order-2")
        others = await send(client, "order-2", token=staff_token)

    assert refused.status_code == 429
    assert others.json()["data"]["createAccount"]["userErrors"] == []


async def test_expired_keys_do_not_count_against_the_limit(api: Api) -> None:
    async with served(api, idempotency_max_keys_per_caller=1) as client:
        await send(client, "order-1")
        await expire_every(api, models.IdempotencyKey)
        again = await send(client, "order-2")

    assert again.json()["data"]["createAccount"]["userErrors"] == []


ALIASES = 800
LARGE_ANSWER = (
    "mutation($name: String!) { createAccount(input: {name: $name}) { account { "
    + " ".join(f"n{number}: name" for number in range(ALIASES))
    + " } userErrors { code } } }"
)


async def test_an_answer_over_64_kib_is_not_stored_and_a_retry_is_told_it_ran(api: Api) -> None:
    name = "Large answer " + "x" * 90
    async with served(api, max_aliases=ALIASES + 10) as client:
        first = await send(client, "large-1", LARGE_ANSWER, {"name": name})
        again = await send(client, "large-1", LARGE_ANSWER, {"name": name})

    assert first.status_code == 200 and len(first.content) > 64 * 1024
    assert (again.status_code, error_code(again)) == (409, "IDEMPOTENCY_ANSWER_NOT_KEPT")
    assert "64 KiB" in again.json()["errors"][0]["message"]
    assert await account_count(api) == 1

    async def bodies(session: Any) -> list[str | None]:
        rows = select(models.IdempotencyKey.body).where(
            models.IdempotencyKey.firm_id == api.firm_id
        )
        return list((await session.execute(rows)).scalars())

    [stored] = await api.db.write(bodies, firm_id=api.firm_id)
    assert stored is not None and name not in stored and len(stored) < 1024


async def test_expired_keys_are_purged_in_bounded_batches_as_answers_are_kept(
    api: Api,
) -> None:
    async def expired(session: Any) -> None:
        gone = models.utcnow() - timedelta(seconds=1)
        session.add_all(
            models.IdempotencyKey(
                firm_id=api.firm_id,
                principal=f"user:{api.user_id}",
                key=f"old-{number}",
                request_hash="0" * 64,
                state="DONE",
                status=200,
                body="{}",
                expires_at=gone,
            )
            for number in range(PURGE_BATCH + 20)
        )

    await api.db.write(expired, firm_id=api.firm_id)

    await send(api, "order-1")
    after_one = await stored_keys(api)
    await send(api, "order-2")
    after_two = await stored_keys(api)

    assert after_one == 20 + 1
    assert after_two == 2


IMPORT = (
    "mutation($input: ImportAccountsInput!) { importAccounts(input: $input) "
    "{ report { created } } }"
)


async def send_import(api: Api, key: str) -> httpx.Response:
    return await send_multipart(
        api, key, {"query": IMPORT, "variables": {"input": {"file": None}}}, "input.file"
    )


async def send_create_as_multipart(api: Api, key: str) -> httpx.Response:
    """createAccount sent as a multipart request, with a file it does not read."""
    operations = {"query": CREATE_ACCOUNT, "variables": {"name": "Acme", "file": None}}
    return await send_multipart(api, key, operations, "file")


async def send_multipart(
    api: Api, key: str, operations: dict[str, Any], file_variable: str
) -> httpx.Response:
    return await api.http.post(
        "/graphql",
        headers={"Authorization": f"Bearer {api.token}", "Idempotency-Key": key},
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": [f"variables.{file_variable}"]}),
        },
        files={"0": ("accounts.csv", b"name,customer_number\r\nAcme,1\r\n", "text/csv")},
    )


async def lease_of(api: Api, key: str) -> timedelta:
    async def lease(session: Any) -> timedelta:
        row = await session.get(models.IdempotencyKey, (api.firm_id, f"user:{api.user_id}", key))
        return row.expires_at - row.created_at

    return await api.db.write(lease, firm_id=api.firm_id)


@pytest.mark.parametrize(
    ("sender", "limit_s"),
    [
        pytest.param(send, 10, id="a-mutation"),
        pytest.param(send_import, 600, id="an-import-upload"),
        pytest.param(send_create_as_multipart, 10, id="another-mutation-as-multipart"),
    ],
)
async def test_a_claim_lasts_as_long_as_its_request_may_run(
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    sender: Callable[[Api, str], Awaitable[httpx.Response]],
    limit_s: int,
) -> None:
    """An import may run for minutes; its key must not lapse while it runs, or a retry of
    the same import would run beside it. Only importAccounts gets that long, even from an
    importer sending multipart."""

    async def never_settled(self: IdempotencyKeys, claim: Any, answer: Any) -> None:
        return None

    monkeypatch.setattr(IdempotencyKeys, "settle", never_settled)
    settings = settings_for(database.url, request_timeout_s=10, import_timeout_s=600)
    async with new_firm(database, settings=settings) as api:
        response = await sender(api, "order-1")

        assert response.status_code == 200 and "errors" not in response.json(), response.text
        expected = timedelta(seconds=limit_s) + LEASE_MARGIN
        assert abs(await lease_of(api, "order-1") - expected) < timedelta(seconds=1)


async def test_an_upload_from_a_caller_who_may_not_import_has_a_requests_time_limit(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import's long limit is for importers only: a multipart request is no way around
    the request time limit."""

    async def never_settled(self: IdempotencyKeys, claim: Any, answer: Any) -> None:
        return None

    monkeypatch.setattr(IdempotencyKeys, "settle", never_settled)
    settings = settings_for(database.url, request_timeout_s=10, import_timeout_s=600)
    async with new_firm(database, settings=settings) as owner:
        staff_id, token = await owner.staff("VIEW_ALL_ACCOUNTS", "CREATE_ACCOUNTS")
        user_id = decode_id(staff_id, "User")
        assert user_id is not None
        staff = dataclasses.replace(owner, token=token, user_id=user_id)

        response = await send_import(staff, "order-1")

        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        expected = timedelta(seconds=10) + LEASE_MARGIN
        assert abs(await lease_of(staff, "order-1") - expected) < timedelta(seconds=1)
