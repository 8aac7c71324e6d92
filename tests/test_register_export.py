"""GET /export/accounts.csv: the `accounts` list (filter, order, rights) as CSV, through
HTTP, on every backend."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from typing import Any

import pytest
from clientgraph.app import create_app
from clientgraph.db import models
from clientgraph.db.queries import fold
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support import Api, settings_for

HEADER = [
    "name",
    "customer_number",
    "type",
    "status",
    "tags",
    "owner",
    "contact_first_name",
    "contact_last_name",
    "contact_email",
    "contact_phone",
    "contact_country",
    "contact_roles",
    "contact_description",
]
ACCOUNT_NAMES = """
query($filter: AccountFilter, $orderBy: AccountOrder) {
  accounts(first: 100, filter: $filter, orderBy: $orderBy) { nodes { name } }
}
"""


async def _export(
    api: Api, token: str | None = None, **params: Any
) -> tuple[int, dict[str, str], bytes]:
    query = {name: json.dumps(value) for name, value in params.items()}
    response = await api.http.get(
        "/export/accounts.csv",
        params=query,
        headers={"Authorization": f"Bearer {token or api.token}"},
    )
    return response.status_code, dict(response.headers), response.content


async def _records(api: Api, token: str | None = None, **params: Any) -> list[list[str]]:
    status, _, body = await _export(api, token, **params)
    assert status == 200, body
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


async def _names(api: Api, token: str | None = None, **params: Any) -> list[str]:
    return [record[0] for record in (await _records(api, token, **params))[1:]]


async def _contact(api: Api, account_id: str, **fields: Any) -> None:
    links = [{"accountId": account_id, "roles": fields.pop("roles", [])}]
    if "description" in fields:
        links[0]["description"] = fields.pop("description")
    await api.ok("createContact", {**fields, "links": links}, "contact { id }")


async def test_the_export_is_a_utf8_csv_attachment_with_a_bom_and_the_header_row(
    api: Api,
) -> None:
    await api.create_account("Ærø Bådeværft", customerNumber="K-1")
    status, headers, body = await _export(api)
    assert status == 200
    assert headers["content-type"] == "text/csv; charset=utf-8"
    assert headers["content-disposition"] == 'attachment; filename="accounts.csv"'
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0] == HEADER
    assert rows[1][:4] == ["Ærø Bådeværft", "K-1", "COMPANY", "ACTIVE"]


async def test_each_column_holds_the_account_its_owner_tags_contacts_and_custom_fields(
    api: Api,
) -> None:
    await api.enable_ownership()
    owner_user_id, _ = await api.staff("VIEW_ALL_ACCOUNTS", name="Olga Owner")
    by_user = await api.add_owner(user_id=owner_user_id)
    by_name = await api.add_owner(name="Nils Nameonly")
    await api.ok(
        "defineCustomField",
        {"entity": "ACCOUNT", "key": "vat", "label": "VAT number", "type": "TEXT"},
    )
    await api.ok(
        "defineCustomField",
        {"entity": "ACCOUNT", "key": "audited", "label": "Audited", "type": "BOOLEAN"},
    )
    linked = await api.create_account(
        "Linked", customerNumber="1", ownerId=by_user, tags=["vip", "audit"], type="INDIVIDUAL"
    )
    await api.create_account("Alone", customerNumber="2", ownerId=by_name)
    await _contact(
        api,
        linked["id"],
        firstName="Zoe",
        lastName="Zed",
        email="zoe@example.com",
        extraEmails=["zed@example.com", "office@example.com"],
        phone="20 12 34 56",
        phoneCountry="DK",
        roles=["COMMERCIAL", "OPERATIONAL"],
        description="CEO",
    )
    await _contact(api, linked["id"], firstName="Anna", lastName="Alpha")
    await api.ok(
        "setCustomFieldValues",
        {"accountId": linked["id"], "values": [{"key": "vat", "value": "DK123"}]},
        "account { id }",
    )
    owner_email = (await api.data("{ users(first: 10) { nodes { name email } } }"))["users"]
    email = next(u["email"] for u in owner_email["nodes"] if u["name"] == "Olga Owner")

    rows = await _records(api)

    linked_columns = ["Linked", "1", "INDIVIDUAL", "ACTIVE", "audit|vip", email]
    zoe = ["COMMERCIAL|OPERATIONAL", "CEO", ""]
    assert rows == [
        [*HEADER, "cf:audited", "cf:vat"],
        ["Alone", "2", "COMPANY", "ACTIVE", "", "Nils Nameonly", *[""] * 7, "", ""],
        [*linked_columns, "Anna", "Alpha", "", "", "", "", "", "", "DK123"],
        [*linked_columns, "Zoe", "Zed", "zoe@example.com", "+4520123456", "", *zoe, "DK123"],
    ]


@pytest.mark.parametrize(
    "text",
    [
        "semi;colon",
        "com,ma",
        'a "quoted" word',
        "two\nlines",
        "crlf\r\nlines",
        "tab\tinside",
        "a = b + c",
    ],
)
async def test_text_with_csv_syntax_comes_back_exactly(api: Api, text: str) -> None:
    await api.create_account(text, customerNumber="Q-1")
    rows = await _records(api)
    assert rows[1][:2] == [text, "Q-1"]


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("+45 20 12 34 56", "+45 20 12 34 56"),
        ("-42", "-42"),
    ],
    ids=["sum", "hyperlink", "dde", "at", "minus-dde", "phone", "negative"],
)
async def test_text_a_spreadsheet_would_run_is_written_inert(
    api: Api, text: str, written: str
) -> None:
    await api.create_account(text, customerNumber="Q-1")
    rows = await _records(api)
    assert rows[1][0] == written


async def test_an_assigned_only_user_exports_only_the_accounts_assigned_to_them(
    api: Api,
) -> None:
    user_id, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS", "ASSIGN_ACCOUNTS")
    mine = await api.create_account("Mine")
    await api.create_account("Not mine")
    await api.ok("assignTeamMember", {"accountId": mine["id"], "userId": user_id}, "account { id }")
    assert await _names(api, token) == ["Mine"]


async def test_another_firms_accounts_are_never_exported(api: Api, other_firm: Api) -> None:
    await other_firm.create_account("Theirs")
    await api.create_account("Ours")
    assert await _names(api) == ["Ours"]


@pytest.mark.parametrize(
    ("permissions", "status"),
    [([], 403), (["IMPORT_ACCOUNTS", "EDIT_ALL_ACCOUNTS"], 403), (["VIEW_ALL_ACCOUNTS"], 200)],
)
async def test_an_api_key_needs_a_right_to_see_accounts(
    api: Api, permissions: list[str], status: int
) -> None:
    await api.create_account("Visible")
    payload = await api.ok("createApiKey", {"name": "Partner", "permissions": permissions}, "key")
    got, _, body = await _export(api, payload["key"])
    assert got == status
    if status == 403:
        assert json.loads(body)["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_user_without_a_right_to_see_accounts_is_refused(api: Api) -> None:
    _, token = await api.staff("CREATE_ACCOUNTS")
    status, _, body = await _export(api, token)
    assert status == 403
    assert "VIEW_ASSIGNED_ACCOUNTS" in json.loads(body)["errors"][0]["message"]


@pytest.mark.parametrize("authorization", [None, "Bearer nonsense"])
async def test_without_a_valid_token_the_export_is_401(api: Api, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await api.http.get("/export/accounts.csv", headers=headers)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"filter": {"status": ["ACTIVE", "INACTIVE"]}},
        {"filter": {"status": []}, "orderBy": {"field": "NAME", "direction": "DESC"}},
        {"filter": {"search": "al"}},
        {"filter": {"tags": ["vip"]}},
        {"filter": {"types": ["INDIVIDUAL"]}},
        {"orderBy": {"field": "CUSTOMER_NUMBER", "direction": "ASC"}},
        {"orderBy": {"field": "CREATED_AT", "direction": "DESC"}},
    ],
)
async def test_the_export_lists_what_accounts_lists_for_the_same_filter_and_order(
    api: Api, params: dict[str, Any]
) -> None:
    await api.create_account("alpha", customerNumber="30", tags=["vip"])
    await api.create_account("Beta", customerNumber="10", type="INDIVIDUAL")
    await api.create_account("gamma", tags=["vip"])
    closed = await api.create_account("Dalton", customerNumber="20")
    await api.ok("deactivateAccount", {"accountId": closed["id"]}, "account { id }")
    listed = await api.data(ACCOUNT_NAMES, params)
    assert await _names(api, **params) == [n["name"] for n in listed["accounts"]["nodes"]]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"filter": "{not json"}, "`filter` is not a valid AccountFilter: not JSON"),
        ({"filter": '{"colour": "red"}'}, "unknown field 'colour'"),
        ({"filter": '{"status": ["OPEN"]}'}, "status.0: Value 'OPEN' does not exist"),
        ({"orderBy": '{"field": "SIZE"}'}, "`orderBy` is not a valid AccountOrder"),
        ({"filter": json.dumps({"search": "x" * 500})}, "search"),
    ],
)
async def test_a_bad_filter_or_order_is_400_naming_the_problem(
    api: Api, query: dict[str, str], named: str
) -> None:
    response = await api.http.get(
        "/export/accounts.csv", params=query, headers={"Authorization": f"Bearer {api.token}"}
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert named in error["message"]


LARGE_EXPORT = 20_000


async def _many_accounts(api: Api, count: int) -> None:
    async def work(session: AsyncSession) -> None:
        for start in range(0, count, 2_000):
            rows = [
                {
                    "id": uuid.uuid4(),
                    "firm_id": api.firm_id,
                    "name": f"Account {number:06d}",
                    "name_folded": fold(f"Account {number:06d}"),
                    "customer_number": str(number),
                    "customer_number_folded": str(number),
                    "type": "COMPANY",
                    "status": "ACTIVE",
                }
                for number in range(start, min(start + 2_000, count))
            ]
            await session.execute(insert(models.Account), rows)

    await api.db.write(work, firm_id=api.firm_id)


async def test_a_large_export_streams_in_chunks_of_bounded_size(api: Api) -> None:
    """Driven at the ASGI level, where each chunk the app sends is seen as it is sent:
    httpx's in-process transport would gather the whole body first."""
    await _many_accounts(api, LARGE_EXPORT)
    app = create_app(settings_for(api.db.url), api.db)
    chunks: list[bytes] = []
    start: dict[str, Any] = {}
    requested, done = asyncio.Event(), asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not requested.is_set():
            requested.set()
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            if message.get("body"):
                chunks.append(message["body"])
            if not message.get("more_body"):
                done.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/export/accounts.csv",
        "raw_path": b"/export/accounts.csv",
        "query_string": b"",
        "headers": [(b"host", b"test"), (b"authorization", f"Bearer {api.token}".encode())],
        "client": ("127.0.0.1", 5000),
        "server": ("test", 80),
    }
    await app(scope, receive, send)

    assert start["status"] == 200
    body = b"".join(chunks)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert len(rows) == LARGE_EXPORT + 1
    assert rows[1][0] == "Account 000000" and rows[-1][0] == f"Account {LARGE_EXPORT - 1:06d}"
    assert len(chunks) > LARGE_EXPORT // 1_000
    assert max(len(chunk) for chunk in chunks) < len(body) // 20
