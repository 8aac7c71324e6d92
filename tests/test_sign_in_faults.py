"""Sign-in while PostgreSQL is unreachable: 503 SERVICE_UNAVAILABLE with Retry-After, like
every other answer that needs the database, and never a 500 or a misleading 401."""

from __future__ import annotations

import uuid

import httpx
from clientgraph.auth.link_tokens import link_token
from clientgraph.db.engine import Database

from tests.conftest import postgresql_url
from tests.pg_proxy import Proxy
from tests.portal_support import PASSWORD as PORTAL_PASSWORD
from tests.portal_support import portal_contact, queued_tokens
from tests.support import SECRET, new_firm
from tests.test_sign_in import PASSWORD, give_password


async def test_auth_endpoints_answer_503_while_the_database_is_down() -> None:
    async with postgresql_url() as url:
        proxy = Proxy.in_front_of(url)
        await proxy.open()
        db = Database(proxy.url(url), pool_size=2, write_attempts=2)
        try:
            async with new_firm(db) as api:
                email = await give_password(db, api.firm_id, api.user_id, PASSWORD)
                signed_in = await api.http.post(
                    "/auth/login", json={"email": email, "password": PASSWORD}
                )
                a_signed_link = link_token(SECRET, uuid.uuid4())
                await proxy.close()
                answers = [
                    await api.http.post(path, json=body)
                    for path, body in (
                        ("/auth/login", {"email": email, "password": PASSWORD}),
                        ("/auth/refresh", {"refreshToken": signed_in.json()["refreshToken"]}),
                        ("/auth/logout", {"refreshToken": signed_in.json()["refreshToken"]}),
                        ("/auth/set-password", {"token": a_signed_link, "password": PASSWORD}),
                    )
                ]
        finally:
            await db.dispose()

    assert signed_in.status_code == 200, signed_in.text
    assert [response.status_code for response in answers] == [503] * 4, [
        response.text for response in answers
    ]
    for response in answers:
        assert_unavailable(response)


def assert_unavailable(response: httpx.Response) -> None:
    assert int(response.headers["retry-after"]) > 0
    assert [error["extensions"] for error in response.json()["errors"]] == [
        {"code": "SERVICE_UNAVAILABLE"}
    ]


async def test_portal_endpoints_answer_503_while_the_database_is_down() -> None:
    async with postgresql_url() as url:
        proxy = Proxy.in_front_of(url)
        await proxy.open()
        db = Database(proxy.url(url), pool_size=2, write_attempts=2)
        try:
            async with new_firm(db) as api:
                _, email = await portal_contact(api)
                pending = (
                    await api.ok(
                        "createContact",
                        {"firstName": "A", "lastName": "B", "email": f"b-{uuid.uuid4().hex}@x.dk"},
                        "contact { id }",
                    )
                )["contact"]["id"]
                await api.ok("inviteContact", {"contactId": pending})
                [token] = await queued_tokens(api, pending)
                await proxy.close()
                answers = [
                    await api.http.post(
                        "/portal/login", json={"email": email, "password": PORTAL_PASSWORD}
                    ),
                    await api.http.post(
                        "/portal/accept", json={"token": token, "password": PORTAL_PASSWORD}
                    ),
                ]
        finally:
            await db.dispose()

    assert [response.status_code for response in answers] == [503] * 2, [
        response.text for response in answers
    ]
    for response in answers:
        assert_unavailable(response)
