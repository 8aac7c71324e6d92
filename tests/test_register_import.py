"""POST /import/accounts.csv: the register upserted from a CSV in the export's columns,
through HTTP with real uploads (multipart and raw bodies), on every backend."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.resolvers.register_csv.upload import BATCH_ACCOUNTS
from sqlalchemy import func, select

from tests.portal_support import login, portal_contact
from tests.support import (
    Api,
    asyncpg_dsn,
    connection_lost_at,
    eventually,
    new_firm,
    owner_url,
    settings_for,
    stored,
)

HEADER = (
    "name,customer_number,type,status,tags,owner,contact_first_name,contact_last_name,"
    "contact_email,contact_phone,contact_country,contact_roles,contact_description"
)
FJORD = "Fjord Fiskeri,1001,COMPANY,ACTIVE,vip|vat,,Mette,Hansen,mette@fjord.example,"
FJORD_ROWS = (
    FJORD + "+4520123456,,COMMERCIAL,CEO",
    "Fjord Fiskeri,1001,COMPANY,ACTIVE,vip|vat,,Ole,Olsen,,20 12 34 57,DK,,",
    "Bager Bent,1002,INDIVIDUAL,INACTIVE,,,,,,,,,",
)
METTE = ["COMMERCIAL", "CEO"]
FJORD_COLUMNS = ["Fjord Fiskeri", "1001", "COMPANY", "ACTIVE", "vat|vip", ""]


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


def _report_of(created: int = 0, updated: int = 0, unchanged: int = 0) -> dict[str, Any]:
    return {
        "created": created,
        "updated": updated,
        "unchanged": unchanged,
        "failed": 0,
        "written": True,
        "rows": [],
    }


async def _upload(
    api: Api, body: bytes, token: str | None = None, *, multipart: bool = True, **params: str
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token or api.token}"}
    if multipart:
        return await api.http.post(
            "/import/accounts.csv",
            params=params,
            headers=headers,
            files={"file": ("accounts.csv", body, "text/csv")},
        )
    return await api.http.post(
        "/import/accounts.csv",
        params=params,
        headers={**headers, "Content-Type": "text/csv; charset=utf-8"},
        content=body,
    )


async def _report(api: Api, body: bytes, token: str | None = None, **params: str) -> Any:
    response = await _upload(api, body, token, **params)
    assert response.status_code == 200, response.text
    return response.json()["report"]


async def _file_error(api: Api, body: bytes, **params: str) -> dict[str, Any]:
    response = await _upload(api, body, **params)
    assert response.status_code == 400, response.text
    assert response.json()["report"] is None
    [error] = response.json()["userErrors"]
    assert error["field"] == ["file"]
    return error


async def _exported(api: Api) -> list[list[str]]:
    response = await api.http.get(
        "/export/accounts.csv",
        params={"filter": '{"status": ["ACTIVE", "INACTIVE"]}', "orderBy": '{"field": "NAME"}'},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


async def _count(api: Api, model: Any, **where: Any) -> int:
    async with api.db.firm_session(api.firm_id) as session:
        query = select(func.count()).select_from(model).where(model.firm_id == api.firm_id)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(await session.scalar(query) or 0)


async def test_a_file_creates_its_accounts_with_tags_contacts_and_roles(api: Api) -> None:
    report = await _report(api, _csv(*FJORD_ROWS))
    assert report == _report_of(created=2)
    assert await _exported(api) == [
        HEADER.split(","),
        ["Bager Bent", "1002", "INDIVIDUAL", "INACTIVE", "", "", *[""] * 7],
        [
            *FJORD_COLUMNS,
            "Mette",
            "Hansen",
            "mette@fjord.example",
            "+4520123456",
            "",
            "COMMERCIAL",
            "CEO",
        ],
        [*FJORD_COLUMNS, "Ole", "Olsen", "", "+4520123457", "", "", ""],
    ]


@pytest.mark.parametrize("multipart", [True, False], ids=["multipart", "raw-body"])
async def test_the_file_may_come_as_a_multipart_part_or_as_the_body(
    api: Api, multipart: bool
) -> None:
    response = await _upload(api, _csv(*FJORD_ROWS), multipart=multipart)
    assert response.status_code == 200, response.text
    assert response.json()["report"]["created"] == 2


async def test_each_changed_account_gets_one_audit_event_and_the_import_a_summary(
    api: Api,
) -> None:
    await _report(api, _csv(*FJORD_ROWS))
    assert await _count(api, models.AuditEvent, action="account.created") == 2
    assert await _count(api, models.AuditEvent, action="import.completed") == 1
    changed = _csv("Fjord Fiskeri II,1001,COMPANY,ACTIVE,vip|vat,,,,,,,,", FJORD_ROWS[2])
    report = await _report(api, changed)
    assert report == _report_of(updated=1, unchanged=1)
    assert await _count(api, models.AuditEvent, action="account.updated") == 1
    assert await _count(api, models.AuditEvent, action="import.completed") == 2
    history = await api.data(
        '{ accounts(first: 5, filter: {search: "II"}) { nodes { version '
        "history(first: 1) { nodes { action changes { field from to } } } } } }"
    )
    [account] = history["accounts"]["nodes"]
    assert account["version"] == 2
    assert account["history"]["nodes"][0] == {
        "action": "account.updated",
        "changes": [{"field": "name", "from": "Fjord Fiskeri", "to": "Fjord Fiskeri II"}],
    }


async def test_a_second_identical_upload_changes_nothing(api: Api) -> None:
    await _report(api, _csv(*FJORD_ROWS))
    before = await stored(api)
    updated_at = await _updated_at(api)
    report = await _report(api, _csv(*FJORD_ROWS))
    assert report == {**_report_of(unchanged=2), "written": True}
    assert await stored(api) == before
    assert await _updated_at(api) == updated_at


async def _updated_at(api: Api) -> list[Any]:
    async with api.db.firm_session(api.firm_id) as session:
        return list(
            await session.scalars(
                select(models.Account.updated_at)
                .where(models.Account.firm_id == api.firm_id)
                .order_by(models.Account.customer_number)
            )
        )


async def test_a_dry_run_reports_and_writes_nothing(api: Api) -> None:
    before = await stored(api)
    report = await _report(api, _csv(*FJORD_ROWS), dryRun="true")
    assert report == {**_report_of(created=2), "written": False}
    assert await stored(api) == before


BAD_ROW = "Broken,1003,SHIP,,,,Eve,,not-an-email,12,,BOSS,"


async def test_all_or_nothing_writes_nothing_when_a_row_fails(api: Api) -> None:
    before = await stored(api)
    report = await _report(api, _csv(*FJORD_ROWS, BAD_ROW))
    assert report["written"] is False
    assert report["failed"] == 1
    assert await stored(api) == before


async def test_partial_writes_the_good_rows_and_reports_the_bad(api: Api) -> None:
    report = await _report(api, _csv(*FJORD_ROWS, BAD_ROW), mode="PARTIAL")
    assert (report["created"], report["failed"], report["written"]) == (2, 1, True)
    assert [record[1] for record in (await _exported(api))[1:]] == ["1002", "1001", "1001"]


async def test_every_bad_field_of_a_row_is_reported_with_its_column(api: Api) -> None:
    report = await _report(api, _csv(FJORD_ROWS[0], BAD_ROW), mode="PARTIAL")
    assert {(row["row"], row["column"], row["code"]) for row in report["rows"]} == {
        (3, "type", "INVALID"),
        (3, "contact_last_name", "REQUIRED"),
        (3, "contact_email", "INVALID"),
        (3, "contact_phone", "INVALID"),
        (3, "contact_roles", "INVALID"),
    }
    assert all(row["message"] for row in report["rows"])


@pytest.mark.parametrize(
    ("row", "column", "code"),
    [
        (",1003,COMPANY,,,,,,,,,,", "name", "REQUIRED"),
        ("Nameless number,,COMPANY,,,,,,,,,,", "customer_number", "REQUIRED"),
        ("Owned,1003,COMPANY,,,Nobody Known,,,,,,,", "owner", "NOT_FOUND"),
        ("Bad mail,1003,COMPANY,,,,Eve,Evans,eve@@example,,,,", "contact_email", "INVALID"),
        ("Bad phone,1003,COMPANY,,,,Eve,Evans,,123,DK,,", "contact_phone", "INVALID"),
        ("Bad country,1003,COMPANY,,,,Eve,Evans,,20123456,XX,,", "contact_country", "INVALID"),
        ("Bad status,1003,COMPANY,GONE,,,,,,,,,", "status", "INVALID"),
        ("Short cells,1003", None, "INVALID"),
    ],
    ids=["name", "number", "owner", "email", "phone", "country", "status", "cells"],
)
async def test_a_bad_field_is_reported_on_its_row_and_column(
    api: Api, row: str, column: str | None, code: str
) -> None:
    report = await _report(api, _csv(FJORD_ROWS[2], row))
    assert report["rows"] == [
        {"row": 3, "column": column, "code": code, "message": report["rows"][0]["message"]}
    ]
    assert report["written"] is False


async def test_a_customer_number_twice_in_the_file_apart_is_a_duplicate(api: Api) -> None:
    report = await _report(api, _csv(*FJORD_ROWS, "Again,1001,COMPANY,,,,,,,,,,"))
    assert [(row["row"], row["column"], row["code"]) for row in report["rows"]] == [
        (5, "customer_number", "DUPLICATE")
    ]


async def test_a_customer_number_again_in_a_later_batch_is_a_duplicate(api: Api) -> None:
    fillers = [f"Filler {index},F-{index},COMPANY,,,,,,,,,," for index in range(BATCH_ACCOUNTS)]
    body = _csv("First,W-1,COMPANY,,,,,,,,,,", *fillers, "Again,W-1,COMPANY,,,,,,,,,,")
    report = await _report(api, body)
    assert [(row["row"], row["column"], row["code"]) for row in report["rows"]] == [
        (BATCH_ACCOUNTS + 3, "customer_number", "DUPLICATE")
    ]


CONTACT_VERSION = (
    'query { contacts(first: 2, filter: {search: "kim@two.example"})'
    " { nodes { firstName version } } }"
)


@pytest.mark.parametrize(("before", "version"), [(False, 1), (True, 2)])
async def test_a_contact_changed_in_two_batches_moves_its_version_once(
    api: Api, before: bool, version: int
) -> None:
    """Once per import, as once per mutation; not at all for one the import made."""
    if before:
        await _report(api, _csv("Start,S-1,COMPANY,,,,Kim,Start,kim@two.example,,,,"))
    fillers = [f"Filler {index},F-{index},COMPANY,,,,,,,,,," for index in range(BATCH_ACCOUNTS)]
    body = _csv(
        "One,T-1,COMPANY,,,,Kim,One,kim@two.example,,,,",
        *fillers,
        "Two,T-2,COMPANY,,,,Kim,Two,kim@two.example,,,,",
    )
    assert (await _report(api, body))["written"] is True
    contacts = (await api.data(CONTACT_VERSION))["contacts"]["nodes"]
    assert contacts == [{"firstName": "Kim", "version": version}]


async def test_owners_are_found_by_name_or_by_their_users_email(api: Api) -> None:
    await api.enable_ownership()
    await api.add_owner(name="Nina Nord")
    user_id, _ = await api.staff("VIEW_ALL_ACCOUNTS", name="Olga Owner")
    await api.add_owner(user_id=user_id)
    users = (await api.data("{ users(first: 10) { nodes { name email } } }"))["users"]["nodes"]
    email = next(user["email"] for user in users if user["name"] == "Olga Owner")
    body = _csv(f"A,1,COMPANY,,,{email.upper()},,,,,,,", "B,2,COMPANY,,,nina nord,,,,,,,")
    assert (await _report(api, body))["created"] == 2
    owners = [record[5] for record in (await _exported(api))[1:]]
    assert owners == [email, "Nina Nord"]


async def test_while_ownership_is_enabled_a_new_account_needs_an_owner(api: Api) -> None:
    await api.enable_ownership()
    report = await _report(api, _csv(FJORD_ROWS[2]))
    assert [(row["column"], row["code"]) for row in report["rows"]] == [("owner", "OWNER_REQUIRED")]


async def test_custom_fields_are_imported_by_key_and_checked_by_their_type(api: Api) -> None:
    for key, kind in (("vat", "TEXT"), ("audited", "BOOLEAN")):
        await api.ok(
            "defineCustomField", {"entity": "ACCOUNT", "key": key, "label": key, "type": kind}
        )
    header = HEADER + ",cf:vat,cf:audited"
    good = await _report(api, _csv(FJORD_ROWS[2] + ",DK123,TRUE", header=header))
    assert good["created"] == 1
    assert (await _exported(api))[1][-2:] == ["true", "DK123"]
    bad = await _report(api, _csv(FJORD_ROWS[2] + ",DK123,maybe", header=header))
    assert [(row["column"], row["code"]) for row in bad["rows"]] == [("cf:audited", "INVALID")]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "REQUIRED"),
        (b"name,number,colour\r\nA,1,red\r\n", "INVALID"),
        (_csv(header=HEADER + ",cf:unknown"), "INVALID"),
        (_csv('"Unclosed,1001,COMPANY,,,,,,,,,,'), "INVALID"),
        ("name,customer_number\r\nÆrø,1\r\n".encode("latin-1"), "INVALID"),
        (_csv(f'"{"x" * 200_000}",1001,COMPANY,,,,,,,,,,'), "INVALID"),
    ],
    ids=[
        "empty",
        "wrong-header",
        "unknown-custom-field",
        "unclosed-quote",
        "latin-1",
        "huge-field",
    ],
)
async def test_a_file_that_cannot_be_read_is_refused_whole(
    api: Api, body: bytes, code: str
) -> None:
    before = await stored(api)
    error = await _file_error(api, body, mode="PARTIAL")
    assert error["code"] == code
    assert await stored(api) == before


async def test_a_non_utf8_file_is_told_to_be_saved_as_utf8(api: Api) -> None:
    error = await _file_error(api, "name,customer_number\r\nÆrø,1\r\n".encode("latin-1"))
    assert "UTF-8" in error["message"]


async def test_a_semicolon_file_with_a_bom_and_newlines_in_quotes_is_read(api: Api) -> None:
    text = (
        "\ufeffname;customer_number;tags;contact_first_name;contact_last_name;"
        'contact_description\r\n"Ærø; Bådeværft";"K-1";"a|b";Søren;Kierkegaard;"line one\r\n'
        'line two"\r\n'
    )
    report = await _report(api, text.encode())
    assert report["created"] == 1
    [record] = (await _exported(api))[1:]
    assert record[:5] == ["Ærø; Bådeværft", "K-1", "COMPANY", "ACTIVE", "a|b"]
    assert record[6:8] == ["Søren", "Kierkegaard"]
    assert record[12] == "line one\r\nline two"


async def test_more_rows_than_the_limit_are_refused_and_nothing_written(
    database: Database,
) -> None:
    settings = settings_for(database.url, max_import_rows=2)
    async with new_firm(database, settings=settings) as api:
        before = await stored(api)
        error = await _file_error(api, _csv(*FJORD_ROWS, "Extra,1004,COMPANY,,,,,,,,,,"))
        assert error["code"] == "TOO_LONG"
        assert await stored(api) == before
        assert (await _report(api, _csv(*FJORD_ROWS[:2])))["created"] == 1


@pytest.mark.parametrize("multipart", [True, False], ids=["multipart", "raw-body"])
async def test_an_upload_over_the_byte_limit_is_413_and_nothing_written(
    database: Database, multipart: bool
) -> None:
    settings = settings_for(database.url, max_import_bytes=10_000)
    async with new_firm(database, settings=settings) as api:
        before = await stored(api)
        rows = [f"Account {n},{n},COMPANY,,,,,,,,,," for n in range(1000)]
        response = await _upload(api, _csv(*rows), multipart=multipart)
        assert response.status_code == 413
        assert await stored(api) == before


async def test_a_200_mb_upload_is_refused_before_it_is_read(api: Api) -> None:
    sent = 0

    async def body() -> Any:
        nonlocal sent
        chunk = b"x" * (1024 * 1024)
        for _ in range(200):
            sent += len(chunk)
            yield chunk

    response = await api.http.post(
        "/import/accounts.csv",
        headers={
            "Authorization": f"Bearer {api.token}",
            "Content-Type": "text/csv",
            "Content-Length": str(200 * 1024 * 1024),
        },
        content=body(),
    )
    assert response.status_code == 413
    assert sent <= 1024 * 1024


async def test_a_200_mb_stream_without_a_length_stops_at_the_limit(api: Api) -> None:
    sent = 0

    async def body() -> Any:
        nonlocal sent
        chunk = b"x" * (1024 * 1024)
        for _ in range(200):
            sent += len(chunk)
            yield chunk

    response = await api.http.post(
        "/import/accounts.csv",
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "text/csv"},
        content=body(),
    )
    assert response.status_code == 413
    assert sent < 60 * 1024 * 1024


async def test_a_user_without_the_import_right_is_refused_before_the_upload(api: Api) -> None:
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", "CREATE_ACCOUNTS")
    before = await stored(api)
    response = await _upload(api, _csv(*FJORD_ROWS), token)
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await stored(api) == before


async def test_without_a_token_the_import_is_401(api: Api) -> None:
    response = await api.http.post("/import/accounts.csv", content=_csv(*FJORD_ROWS))
    assert response.status_code == 401


async def test_an_api_key_without_import_accounts_is_refused(api: Api) -> None:
    rights = ["VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", "CREATE_ACCOUNTS"]
    payload = await api.ok("createApiKey", {"name": "Partner", "permissions": rights}, "key")
    response = await _upload(api, _csv(*FJORD_ROWS), payload["key"])
    assert response.status_code == 403


async def test_an_api_key_with_import_accounts_imports(api: Api) -> None:
    rights = ["VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", "CREATE_ACCOUNTS", "IMPORT_ACCOUNTS"]
    rights.append("EDIT_CLIENT_USER_RIGHTS")
    payload = await api.ok("createApiKey", {"name": "Partner", "permissions": rights}, "key")
    assert (await _report(api, _csv(*FJORD_ROWS), payload["key"]))["created"] == 2


async def test_an_api_key_without_create_accounts_creates_nothing(api: Api) -> None:
    rights = ["VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", "IMPORT_ACCOUNTS"]
    payload = await api.ok("createApiKey", {"name": "Partner", "permissions": rights}, "key")
    report = await _report(api, _csv(FJORD_ROWS[2]), payload["key"])
    assert [(row["column"], row["code"]) for row in report["rows"]] == [
        ("customer_number", "FORBIDDEN")
    ]


async def test_assigned_only_staff_change_only_the_accounts_assigned_to_them(api: Api) -> None:
    user_id, token = await api.staff(
        "VIEW_ASSIGNED_ACCOUNTS", "EDIT_ASSIGNED_ACCOUNTS", "IMPORT_ACCOUNTS"
    )
    mine = await api.create_account("Mine", customerNumber="1")
    await api.create_account("Not mine", customerNumber="2")
    await api.ok("assignTeamMember", {"accountId": mine["id"], "userId": user_id}, "account { id }")
    body = _csv("Mine renamed,1,COMPANY,,,,,,,,,,", "Not mine renamed,2,COMPANY,,,,,,,,,,")
    report = await _report(api, body, token, mode="PARTIAL")
    assert (report["updated"], report["failed"]) == (1, 1)
    assert [(row["row"], row["column"], row["code"]) for row in report["rows"]] == [
        (3, "customer_number", "TAKEN")
    ]
    names = sorted(record[0] for record in (await _exported(api))[1:])
    assert names == ["Mine renamed", "Not mine"]


async def test_staff_without_edit_client_user_rights_give_contacts_no_roles(api: Api) -> None:
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "CREATE_ACCOUNTS", "IMPORT_ACCOUNTS")
    report = await _report(api, _csv(FJORD_ROWS[0]), token)
    assert [(row["column"], row["code"]) for row in report["rows"]] == [
        ("contact_roles", "FORBIDDEN")
    ]


async def test_export_then_import_into_another_firm_then_export_is_identical(
    api: Api, other_firm: Api
) -> None:
    for firm in (api, other_firm):
        await firm.enable_ownership()
        await firm.add_owner(name="Nils Nameonly")
        await firm.ok(
            "defineCustomField",
            {"entity": "ACCOUNT", "key": "vat", "label": "VAT", "type": "TEXT"},
        )
    owner = (await api.data("{ clientOwners(first: 5) { nodes { id } } }"))["clientOwners"]
    owner_id = owner["nodes"][0]["id"]
    first = await api.create_account(
        "=Formula & Co", customerNumber="7", ownerId=owner_id, tags=["b", "a"]
    )
    await api.create_account("Second", customerNumber="8", ownerId=owner_id, type="INDIVIDUAL")
    await api.ok(
        "createContact",
        {
            "firstName": "Zoe",
            "lastName": "Zed",
            "email": "zoe@example.com",
            "phone": "+4520123456",
            "links": [{"accountId": first["id"], "roles": ["OPERATIONAL"], "description": "x"}],
        },
        "contact { id }",
    )
    await api.ok(
        "setCustomFieldValues",
        {"accountId": first["id"], "values": [{"key": "vat", "value": "DK1\nDK2"}]},
        "account { id }",
    )
    exported = await _exported(api)
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(exported)
    report = await _report(other_firm, out.getvalue().encode("utf-8-sig"))
    assert report == _report_of(created=2)
    assert await _exported(other_firm) == exported
    again = await _report(api, out.getvalue().encode("utf-8-sig"))
    assert again == _report_of(unchanged=2)


async def test_an_import_cut_off_halfway_by_the_database_leaves_nothing_written(
    api: Api, database: Database
) -> None:
    before = await stored(api)
    with connection_lost_at(database, "INSERT INTO account_contacts"):
        response = await _upload(api, _csv(*FJORD_ROWS))
    assert response.status_code == 503
    assert await stored(api) == before
    assert (await _report(api, _csv(*FJORD_ROWS)))["created"] == 2


async def test_another_firms_customer_numbers_are_not_matched(api: Api, other_firm: Api) -> None:
    await other_firm.create_account("Theirs", customerNumber="1002")
    assert (await _report(api, _csv(*FJORD_ROWS)))["created"] == 2
    theirs = await _exported(other_firm)
    assert [record[0] for record in theirs[1:]] == ["Theirs"]


@pytest.mark.parametrize(
    ("params", "message"),
    [({"mode": "SOME"}, "mode"), ({"dryRun": "perhaps"}, "dryRun")],
)
async def test_bad_parameters_are_400(api: Api, params: dict[str, str], message: str) -> None:
    response = await _upload(api, _csv(*FJORD_ROWS), **params)
    assert response.status_code == 400
    assert message in response.json()["errors"][0]["message"]


IMPORT_MUTATION = """
mutation($input: ImportAccountsInput!) {
  importAccounts(input: $input) {
    report { created updated unchanged failed written rows { row column code message } }
    userErrors { field code message }
  }
}
"""


async def _mutation(
    api: Api, body: bytes, token: str | None = None, **input_: Any
) -> httpx.Response:
    """importAccounts by the GraphQL multipart request specification."""
    operations = {"query": IMPORT_MUTATION, "variables": {"input": {"file": None, **input_}}}
    return await api.http.post(
        "/graphql",
        headers={"Authorization": f"Bearer {token or api.token}"},
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": ("accounts.csv", body, "text/csv")},
    )


async def _payload(api: Api, body: bytes, token: str | None = None, **input_: Any) -> Any:
    response = await _mutation(api, body, token, **input_)
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.json()
    return response.json()["data"]["importAccounts"]


async def test_the_mutation_imports_an_uploaded_file(api: Api) -> None:
    payload = await _payload(api, _csv(*FJORD_ROWS))
    assert payload == {"report": _report_of(created=2), "userErrors": []}
    assert len(await _exported(api)) == 4


async def test_the_mutation_takes_dry_run_and_mode(api: Api) -> None:
    before = await stored(api)
    dry = await _payload(api, _csv(*FJORD_ROWS), dryRun=True)
    assert dry["report"] == {**_report_of(created=2), "written": False}
    assert await stored(api) == before
    partial = await _payload(api, _csv(*FJORD_ROWS, BAD_ROW), mode="PARTIAL")
    assert (partial["report"]["created"], partial["report"]["failed"]) == (2, 1)


async def test_the_mutation_reports_an_unreadable_file_as_a_user_error(api: Api) -> None:
    payload = await _payload(api, b"colour\r\nred\r\n")
    assert payload["report"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["file"], "INVALID")]


async def test_the_mutation_needs_the_import_right(api: Api) -> None:
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", "CREATE_ACCOUNTS")
    before = await stored(api)
    response = await _mutation(api, _csv(*FJORD_ROWS), token)
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await stored(api) == before


async def test_the_mutation_has_the_imports_time_limit_not_a_requests(
    database: Database,
) -> None:
    settings = settings_for(database.url, request_timeout_s=0.01)
    async with new_firm(database, settings=settings) as api:
        payload = await _payload(api, _csv(*FJORD_ROWS))

        assert payload == {"report": _report_of(created=2), "userErrors": []}


async def test_the_mutation_refuses_an_upload_over_the_byte_limit(database: Database) -> None:
    settings = settings_for(database.url, max_import_bytes=10_000)
    async with new_firm(database, settings=settings) as api:
        rows = [f"Account {n},{n},COMPANY,,,,,,,,,," for n in range(1000)]
        response = await _mutation(api, _csv(*rows))
        assert response.status_code == 413


async def test_columns_left_out_of_the_file_are_left_alone(api: Api) -> None:
    await _report(api, _csv(*FJORD_ROWS))
    header = "name,customer_number,contact_first_name,contact_last_name,contact_email"
    body = _csv("Fjord Fiskeri,1001,Mette,Hansen-Berg,mette@fjord.example", header=header)
    report = await _report(api, body)
    assert report == _report_of(updated=1, unchanged=0)
    mette = next(record for record in (await _exported(api))[1:] if record[6] == "Mette")
    assert mette[4:] == [
        "vat|vip",
        "",
        "Mette",
        "Hansen-Berg",
        "mette@fjord.example",
        "+4520123456",
        "",
        "COMMERCIAL",
        "CEO",
    ]
    found = await api.data(
        '{ contacts(first: 5, filter: {search: "hansen-berg"}) { nodes { lastName } } }'
    )
    assert found["contacts"]["nodes"] == [{"lastName": "Hansen-Berg"}]


async def test_staff_without_edit_client_user_rights_take_no_roles_away(api: Api) -> None:
    await _report(api, _csv(FJORD_ROWS[0]))
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", "IMPORT_ACCOUNTS")
    without_roles = FJORD + "+4520123456,,,CEO"

    report = await _report(api, _csv(without_roles), token)

    assert [(row["column"], row["code"]) for row in report["rows"]] == [
        ("contact_roles", "FORBIDDEN")
    ]
    mette = next(record for record in (await _exported(api))[1:] if record[6] == "Mette")
    assert mette[11] == "COMMERCIAL"


async def test_a_contact_the_caller_may_not_edit_is_not_matched_by_its_e_mail(api: Api) -> None:
    """An assigned-only user's file naming the e-mail of a contact on an account hidden from
    them makes a contact of their own: the hidden one is neither renamed nor linked."""
    await _report(api, _csv("Secret,5001,COMPANY,ACTIVE,,,Vera,Secret,vera@secret.example,,,,"))
    rights = ("VIEW_ASSIGNED_ACCOUNTS", "EDIT_ASSIGNED_ACCOUNTS", "CREATE_ACCOUNTS")
    _, token = await api.staff(*rights, "IMPORT_ACCOUNTS")
    header = "name,customer_number,contact_first_name,contact_last_name,contact_email"

    report = await _report(
        api, _csv("Mine,7001,Hacked,Name,VERA@secret.example", header=header), token
    )

    assert report["created"] == 1
    contacts = {(record[0], record[6], record[7]) for record in (await _exported(api))[1:]}
    assert contacts == {("Mine", "Hacked", "Name"), ("Secret", "Vera", "Secret")}


async def test_a_header_of_too_many_columns_is_refused_at_once(api: Api) -> None:
    error = await _file_error(api, _csv(header=",".join(["c"] * 100_000)))

    assert error["code"] == "INVALID"
    assert "100000 columns" in error["message"]


async def test_a_line_longer_than_the_limit_is_refused(api: Api) -> None:
    error = await _file_error(api, _csv("x" * 1_100_000))

    assert error["code"] == "TOO_LONG"


async def test_a_portal_token_may_not_send_an_import_sized_body(api: Api) -> None:
    """/graphql takes a multipart body up to the import limit only from a caller who may
    import: a portal token's is held to the ordinary 1 MiB."""
    _, email = await portal_contact(api)
    token = (await login(api, email)).json()["accessToken"]
    big = _csv(*[f"Account {n},{n},COMPANY,,,,,,,,,," for n in range(60_000)])

    response = await _mutation(api, big, token)

    assert response.status_code == 413


ORDINARY_LIMIT = 1024 * 1024
"""CLIENTGRAPH_MAX_BODY_BYTES's default."""


def _multipart_import(file_bytes: int) -> tuple[str, list[bytes]]:
    """An importAccounts request by the GraphQL multipart request specification whose file
    holds `file_bytes` bytes: (its Content-Type, its body in chunks of 64 KiB)."""
    boundary = "clientgraph-test-boundary"
    operations = {"query": IMPORT_MUTATION, "variables": {"input": {"file": None}}}
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in (
            ("operations", json.dumps(operations)),
            ("map", json.dumps({"0": ["variables.input.file"]})),
        )
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="accounts.csv"'
        "\r\nContent-Type: text/csv\r\n\r\n"
    )
    body = head.encode() + b"x" * file_bytes + f"\r\n--{boundary}--\r\n".encode()
    chunk = 64 * 1024
    return f"multipart/form-data; boundary={boundary}", [
        body[start : start + chunk] for start in range(0, len(body), chunk)
    ]


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
async def test_a_user_without_the_import_right_may_not_send_an_import_sized_upload(
    api: Api, declared: bool
) -> None:
    """Any valid user token must not make /graphql take in an import-sized body: a STAFF
    user without IMPORT_ACCOUNTS sending a 5 MiB upload gets the 413 of any body over the
    ordinary limit, and the server reads no more than that limit."""
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", "CREATE_ACCOUNTS")
    content_type, chunks = _multipart_import(5 * 1024 * 1024)
    read = 0

    async def body() -> Any:
        nonlocal read
        for chunk in chunks:
            read += len(chunk)
            yield chunk

    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    if declared:
        headers["Content-Length"] = str(sum(len(chunk) for chunk in chunks))
    response = await api.http.post("/graphql", headers=headers, content=body())
    too_large = await api.http.post(
        "/graphql",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        content=b" " * (ORDINARY_LIMIT + 1),
    )

    assert response.status_code == 413
    assert response.json() == too_large.json()
    assert read <= ORDINARY_LIMIT + len(chunks[0])


async def test_a_user_with_the_import_right_may_send_an_upload_past_the_ordinary_limit(
    database: Database,
) -> None:
    """The body is read back in several chunks from where it was spooled."""
    settings = settings_for(database.url, max_body_bytes=2_000)
    async with new_firm(database, settings=settings) as api:
        _, token = await api.staff("VIEW_ALL_ACCOUNTS", "CREATE_ACCOUNTS", "IMPORT_ACCOUNTS")
        big = _csv(*[f"Account {n},{n},COMPANY,,,,,,,,,," for n in range(3_000)])
        assert len(big) > 64 * 1024

        payload = await _payload(api, big, token, dryRun=True)

        assert payload["report"]["created"] == 3_000


IMPORT_FEED = """
query($filter: AuditEventFilter) {
  auditEvents(first: 50, filter: $filter) {
    nodes { action subjectType actor { name } changes { field from to } } } }
"""


async def test_the_imports_events_are_in_the_firms_feed_in_order_with_their_changes(
    api: Api,
) -> None:
    await _report(api, _csv(FJORD_ROWS[2]))
    await api.create_account("Made after", customerNumber="9")
    feed: dict[str, Any] = {}

    async def settled() -> bool:
        """The feed shows an event once every transaction of the database cluster that began
        writing before it has ended: other work on the machine may be writing meanwhile."""
        feed.update(await api.data(IMPORT_FEED, {"filter": {"subjectTypes": ["account", "firm"]}}))
        return len(feed["auditEvents"]["nodes"]) >= 3

    await eventually(settled, timeout=60.0)

    nodes = feed["auditEvents"]["nodes"]
    assert [node["action"] for node in nodes] == [
        "account.created",
        "import.completed",
        "account.created",
    ]
    assert {"field": "name", "from": None, "to": "Bager Bent"} in nodes[0]["changes"]
    assert {"field": "status", "from": None, "to": "INACTIVE"} in nodes[0]["changes"]
    assert nodes[0]["actor"] == nodes[2]["actor"]


LOCK_WAITS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'
"""


async def test_an_account_another_request_creates_meanwhile_is_updated_not_a_500(
    api: Api, database: Database
) -> None:
    """Another transaction creates customer number 1002 after the import looked it up and
    before it commits: the import's insert waits for it, fails on the unique key once it
    commits, and the import runs again, finding and updating that account."""
    if database.is_sqlite:
        pytest.skip("SQLite runs one writer at a time: two cannot race for a number")
    other = await asyncpg.connect(asyncpg_dsn(owner_url(database)))
    try:
        transaction = other.transaction()
        await transaction.start()
        await other.execute(
            "INSERT INTO accounts (id, firm_id, name, name_folded, customer_number,"
            " customer_number_folded, type, status, version, created_at, updated_at)"
            " VALUES ($1, $2, 'Racer', 'racer', '1002', '1002', 'COMPANY', 'ACTIVE', 1,"
            " now(), now())",
            uuid.uuid4(),
            api.firm_id,
        )
        importing = asyncio.create_task(_upload(api, _csv(*FJORD_ROWS)))
        await eventually(lambda: _lock_waits(other), timeout=30)
        await transaction.commit()
        response = await asyncio.wait_for(importing, 60)
    finally:
        await other.close()

    assert response.status_code == 200, response.text
    assert response.json()["report"] == _report_of(created=1, updated=1)
    names = sorted({record[0] for record in (await _exported(api))[1:]})
    assert names == ["Bager Bent", "Fjord Fiskeri"]


async def _lock_waits(connection: asyncpg.Connection) -> bool:
    return bool(await connection.fetchval(LOCK_WAITS))


async def test_an_import_past_its_time_limit_is_rolled_back_and_answered_timeout(
    database: Database,
) -> None:
    settings = settings_for(database.url, import_timeout_s=0.05)
    async with new_firm(database, settings=settings) as api:
        before = await stored(api)
        rows = [
            f"Account {n},{n},COMPANY,,,,Ann,Person {n},ann.{n}@x.example,,,," for n in range(3000)
        ]

        response = await _upload(api, _csv(*rows))

        assert response.status_code == 503, response.text
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "TIMEOUT"
        assert "CLIENTGRAPH_IMPORT_TIMEOUT_S" in error["message"]
        assert await stored(api) == before
        assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
