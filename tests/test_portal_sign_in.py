"""Client portal access (issue 9, point 6; seeds 002, 003, 004): an invited contact gets an
e-mail with a one-time link, chooses a password with it, signs in for a portal token, and with
that token reads only their own `portal` view — until the firm revokes their access."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from argon2 import PasswordHasher
from clientgraph.auth.access_tokens import read_token
from clientgraph.auth.portal_tokens import read_portal_token
from clientgraph.auth.token_errors import InvalidToken
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.demo import DEMO_PORTAL_EMAIL, DEMO_PORTAL_PASSWORD, seed_demo
from clientgraph.ids import decode_id, encode_id
from clientgraph.schema.graphql_core import graphql_schema
from clientgraph.schema.schema import build_schema
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
)
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.portal_support import PASSWORD, accept, login, portal_contact, queued_tokens
from tests.support import SECRET, Api, expire_every, new_contact, new_firm, owner_url, settings_for
from tests.test_outbox_relay import PORTAL_URL, Clock, Inbox, inbox, make_relay

__all__ = ["inbox"]

PORTAL = """
query Portal {
  portal {
    contact { firstName lastName emails }
    accounts { account { id name } roles description }
  }
}
"""
CONTACT = """
query Contact($id: ID!) { contact(id: $id) { portalAccess lastLoginAt email } }
"""


async def contact_state(api: Api, contact_id: str) -> dict[str, Any]:
    return (await api.data(CONTACT, {"id": contact_id}))["contact"]


async def portal_token(api: Api, email: str, password: str = PASSWORD) -> str:
    response = await login(api, email, password)
    assert response.status_code == 200, response.text
    return response.json()["accessToken"]


def unique_email(name: str) -> str:
    """An address of this test alone: the database is shared by every test of the run."""
    return f"{name}-{uuid.uuid4().hex[:10]}@example.dk"


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def reason(response: Any) -> str:
    return response.json()["errors"][0]["extensions"]["reason"]


# --- the invitation e-mail and its link -----------------------------------------------------


async def test_the_invitation_email_carries_a_link_that_activates_portal_access(
    api: Api, inbox: tuple[Inbox, int]
) -> None:
    received, port = inbox
    email = f"client-{uuid.uuid4().hex[:10]}@example.dk"
    contact_id = await new_contact(api, first="Mette", email=email)
    await api.ok("inviteContact", {"contactId": contact_id})

    await make_relay(api.db, port, Clock()).run_once()

    [message] = received.to(email)
    [link] = [line for line in message.get_content().splitlines() if "/accept?token=" in line]
    assert link.startswith(f"{PORTAL_URL}/accept?token=")
    [token] = parse_qs(urlsplit(link).query)["token"]
    response = await accept(api, token)
    assert response.status_code == 204, response.text
    assert (await contact_state(api, contact_id))["portalAccess"] == "ACTIVE"
    assert await queued_tokens(api, contact_id) == [], "a sent row keeps no usable link"


async def test_an_invitation_goes_to_the_email_given_when_it_is_the_contacts(api: Api) -> None:
    mette = unique_email("mette")
    work = unique_email("m.hansen")
    contact_id = await new_contact(api, first="Mette", email=mette, extraEmails=[work])

    await api.ok("inviteContact", {"contactId": contact_id, "email": work.upper()})

    recipients = await api.data("{ emailDeliveries { nodes { recipient } } }")
    assert recipients["emailDeliveries"]["nodes"] == [{"recipient": work}]
    [token] = await queued_tokens(api, contact_id)
    assert (await accept(api, token)).status_code == 204
    assert (await login(api, work)).status_code == 200
    assert (await login(api, mette)).status_code == 401


async def test_an_invitation_to_an_email_not_of_the_contact_is_a_user_error(api: Api) -> None:
    mette = unique_email("mette")
    contact_id = await new_contact(api, first="Mette", email=mette)

    payload = await api.mutate(
        "inviteContact",
        {"contactId": contact_id, "email": "stranger@example.com"},
        "contact { portalAccess }",
    )

    [error] = payload["userErrors"]
    assert (error["field"], error["code"]) == (["email"], "INVALID")
    assert error["message"] == "This is not one of the contact's emails."
    assert (await contact_state(api, contact_id))["portalAccess"] == "NONE"
    assert await queued_tokens(api, contact_id) == []


async def test_a_resend_voids_the_previous_link(api: Api) -> None:
    mette = unique_email("mette")
    contact_id = await new_contact(api, first="Mette", email=mette)
    await api.ok("inviteContact", {"contactId": contact_id})
    await api.ok("inviteContact", {"contactId": contact_id})

    first, second = await queued_tokens(api, contact_id)

    refused = await accept(api, first)
    assert (refused.status_code, reason(refused)) == (400, "TOKEN_VOIDED")
    assert (await accept(api, second)).status_code == 204


async def test_an_accepted_link_cannot_be_used_again(api: Api) -> None:
    mette = unique_email("mette")
    contact_id = await new_contact(api, first="Mette", email=mette)
    await api.ok("inviteContact", {"contactId": contact_id})
    [token] = await queued_tokens(api, contact_id)
    assert (await accept(api, token)).status_code == 204

    again = await accept(api, token, "another long password")

    assert (again.status_code, reason(again)) == (400, "TOKEN_USED")
    assert (await login(api, mette, "another long password")).status_code == 401
    assert (await login(api, mette)).status_code == 200


async def test_an_expired_link_is_refused(api: Api) -> None:
    mette = unique_email("mette")
    contact_id = await new_contact(api, first="Mette", email=mette)
    await api.ok("inviteContact", {"contactId": contact_id})
    [token] = await queued_tokens(api, contact_id)

    await expire_every(api, models.PortalInvitation)

    refused = await accept(api, token)
    assert (refused.status_code, reason(refused)) == (400, "TOKEN_EXPIRED")
    assert (await contact_state(api, contact_id))["portalAccess"] == "INVITED"


async def test_revoking_an_invitation_voids_its_link(api: Api) -> None:
    mette = unique_email("mette")
    contact_id = await new_contact(api, first="Mette", email=mette)
    await api.ok("inviteContact", {"contactId": contact_id})
    [token] = await queued_tokens(api, contact_id)

    await api.ok("revokePortalAccess", {"contactId": contact_id})

    refused = await accept(api, token)
    assert (refused.status_code, reason(refused)) == (400, "TOKEN_VOIDED")
    assert (await contact_state(api, contact_id))["portalAccess"] == "NONE"


async def test_removing_the_invited_address_from_the_contact_voids_the_link(api: Api) -> None:
    mette = unique_email("mette")
    work = unique_email("m.hansen")
    contact_id = await new_contact(api, first="Mette", email=mette, extraEmails=[work])
    await api.ok("inviteContact", {"contactId": contact_id, "email": work})
    [token] = await queued_tokens(api, contact_id)

    await api.ok("updateContact", {"contactId": contact_id, "extraEmails": []})

    refused = await accept(api, token)
    assert (refused.status_code, reason(refused)) == (400, "TOKEN_VOIDED")
    assert (await contact_state(api, contact_id))["portalAccess"] == "NONE"


@pytest.mark.parametrize(
    "token",
    ["", "not-a-token", "0" * 32 + ".secret", "x" * 10_000, 42],
    ids=["empty", "garbage", "unknown invitation", "huge", "not a string"],
)
async def test_a_malformed_or_unknown_token_is_refused(api: Api, token: Any) -> None:
    response = await accept(api, token)

    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]


async def test_a_token_with_the_wrong_secret_is_refused_and_the_real_one_still_works(
    api: Api,
) -> None:
    mette = unique_email("mette")
    contact_id = await new_contact(api, first="Mette", email=mette)
    await api.ok("inviteContact", {"contactId": contact_id})
    [token] = await queued_tokens(api, contact_id)
    invitation, _, _ = token.partition(".")

    forged = await accept(api, f"{invitation}.{'A' * 43}")

    assert (forged.status_code, reason(forged)) == (400, "TOKEN_INVALID")
    assert (await accept(api, token)).status_code == 204


@pytest.mark.parametrize(
    ("password", "why"),
    [("short pass1", "TOO_SHORT"), ("p" * 257, "TOO_LONG"), (None, "MISSING")],
    ids=["11 chars", "257 chars", "missing"],
)
async def test_an_unacceptable_password_is_refused_and_the_link_still_works(
    api: Api, password: str | None, why: str | None
) -> None:
    mette = unique_email("mette")
    contact_id = await new_contact(api, first="Mette", email=mette)
    await api.ok("inviteContact", {"contactId": contact_id})
    [token] = await queued_tokens(api, contact_id)

    response = await api.http.post("/portal/accept", json={"token": token, "password": password})

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"].get("reason") == why
    assert (await contact_state(api, contact_id))["portalAccess"] == "INVITED"
    assert (await accept(api, token)).status_code == 204


async def test_an_address_can_sign_in_to_only_one_contact_of_a_firm(api: Api) -> None:
    shared = unique_email("shared")
    await portal_contact(api, email=shared)
    other = await new_contact(api, first="Mette", email=shared)

    payload = await api.mutate("inviteContact", {"contactId": other})

    assert [(error["field"], error["code"]) for error in payload["userErrors"]] == [
        (["email"], "TAKEN")
    ]


# --- signing in -----------------------------------------------------------------------------


async def test_signing_in_gives_a_portal_token_and_staff_see_the_last_sign_in(api: Api) -> None:
    contact_id, email = await portal_contact(api)
    assert (await contact_state(api, contact_id))["lastLoginAt"] is None

    response = await login(api, email.upper())

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["tokenType"], body["expiresIn"]) == ("Bearer", 3600)
    assert response.headers["cache-control"] == "no-store"
    claims = read_portal_token(SECRET, body["accessToken"])
    assert (claims.contact_id, claims.firm_id) == (decode_id(contact_id, "Contact"), api.firm_id)
    seen = (await contact_state(api, contact_id))["lastLoginAt"]
    assert seen is not None


async def test_a_password_hashed_with_older_parameters_is_hashed_anew_at_sign_in(
    api: Api,
) -> None:
    contact_id, email = await portal_contact(api)
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    credential = models.PortalCredential

    async def weaken(session: AsyncSession) -> None:
        await session.execute(
            update(credential).where(credential.firm_id == api.firm_id).values(password_hash=weaker)
        )

    await api.db.write(weaken, firm_id=api.firm_id)
    token = await portal_token(api, email)

    async with api.db.firm_session(api.firm_id) as session:
        stored = await session.scalar(
            select(credential.password_hash).where(
                credential.firm_id == api.firm_id,
                credential.contact_id == decode_id(contact_id, "Contact"),
            )
        )
    assert stored is not None and stored != weaker
    assert not PasswordHasher().check_needs_rehash(stored)
    assert (await api.post(PORTAL, token=token)).status_code == 200, "the token still works"
    assert (await login(api, email)).status_code == 200


async def test_a_wrong_password_and_an_unknown_email_get_the_same_401(api: Api) -> None:
    _, email = await portal_contact(api)

    wrong = await login(api, email, "not the password at all")
    unknown = await login(api, "nobody@example.dk")

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_five_failed_sign_ins_lock_the_email_for_that_address_with_429(api: Api) -> None:
    _, email = await portal_contact(api)
    _, other_email = await portal_contact(api)

    failures = [await login(api, email, f"wrong password {n}") for n in range(5)]
    locked = await login(api, email)

    assert [response.status_code for response in failures] == [401] * 5
    assert locked.status_code == 429
    assert codes(locked.json()) == ["RATE_LIMITED"]
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    assert (await login(api, other_email)).status_code == 200, "other addresses are not locked"


async def test_failed_sign_ins_for_many_emails_spend_the_client_address_budget(
    database: Database,
) -> None:
    settings = settings_for(database.url, rate_limit_failed_auth_per_minute=3)
    async with new_firm(database, settings=settings) as api:
        _, email = await portal_contact(api)

        guesses = [await login(api, unique_email("guess")) for _ in range(3)]
        blocked = await login(api, email)

    assert [response.status_code for response in guesses] == [401] * 3
    assert blocked.status_code == 429


@pytest.mark.parametrize(
    "body",
    [{"email": "a@example.dk"}, {"password": PASSWORD}, {"email": 7, "password": PASSWORD}, []],
    ids=["no password", "no email", "email not a string", "not an object"],
)
async def test_a_sign_in_without_email_and_password_is_a_bad_request(api: Api, body: Any) -> None:
    response = await api.http.post("/portal/login", json=body)

    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]


async def test_a_huge_sign_in_body_is_refused_unread(api: Api) -> None:
    response = await api.http.post(
        "/portal/login", json={"email": "a@example.dk", "password": "p" * 100_000}
    )

    assert response.status_code == 413


async def test_an_email_shared_by_clients_of_two_firms_asks_which_firm(api: Api) -> None:
    async with new_firm(api.db, settings=settings_for(api.db.url)) as other:
        email = f"client-{uuid.uuid4().hex[:10]}@example.dk"
        mine, _ = await portal_contact(api, email=email)
        theirs, _ = await portal_contact(other, email=email)

        several = await login(api, email)
        chosen = await login(api, email, firmId=encode_id("Firm", other.firm_id))

        assert several.status_code == 409
        error = several.json()["errors"][0]
        assert (error["extensions"]["code"], error["extensions"]["reason"]) == (
            "CONFLICT",
            "SEVERAL_FIRMS",
        )
        assert sorted(firm["id"] for firm in error["extensions"]["firms"]) == sorted(
            encode_id("Firm", firm) for firm in (api.firm_id, other.firm_id)
        )
        assert chosen.status_code == 200
        claims = read_portal_token(SECRET, chosen.json()["accessToken"])
        assert claims.contact_id == decode_id(theirs, "Contact")
        assert (await contact_state(api, mine))["lastLoginAt"] is None


async def test_an_email_shared_by_two_firms_signs_in_where_the_password_fits(api: Api) -> None:
    async with new_firm(api.db, settings=settings_for(api.db.url)) as other:
        email = f"client-{uuid.uuid4().hex[:10]}@example.dk"
        await portal_contact(api, email=email)
        theirs = await new_contact(other, first="Mette", email=email)
        await other.ok("inviteContact", {"contactId": theirs})
        [token] = await queued_tokens(other, theirs)
        assert (await accept(other, token, "their very own password")).status_code == 204

        response = await login(api, email, "their very own password")

        assert response.status_code == 200
        assert read_portal_token(SECRET, response.json()["accessToken"]).firm_id == other.firm_id


# --- what a portal token reads ----------------------------------------------------------------


async def test_the_portal_shows_the_contact_and_only_their_active_accounts(api: Api) -> None:
    acme = await api.create_account("Acme ApS")
    beta = await api.create_account("Beta I/S")
    closed = await api.create_account("Closed A/S")
    await api.create_account("Someone Else's A/S")
    links = [
        {"accountId": acme["id"], "roles": ["COMMERCIAL"], "description": "CEO"},
        {"accountId": beta["id"], "roles": []},
        {"accountId": closed["id"], "roles": ["OPERATIONAL"]},
    ]
    _, email = await portal_contact(api, links=links)
    await portal_contact(api, first_name="Other", links=[{"accountId": acme["id"]}])
    await api.ok("deactivateAccount", {"accountId": closed["id"]})

    data = await api.data(PORTAL, token=await portal_token(api, email))

    assert data["portal"] == {
        "contact": {"firstName": "Mette", "lastName": "Hansen", "emails": [email]},
        "accounts": [
            {
                "account": {"id": acme["id"], "name": "Acme ApS"},
                "roles": ["COMMERCIAL"],
                "description": "CEO",
            },
            {"account": {"id": beta["id"], "name": "Beta I/S"}, "roles": [], "description": None},
        ],
    }


async def test_staff_cannot_read_the_portal(api: Api) -> None:
    body = await api.execute(PORTAL)

    assert codes(body) == ["FORBIDDEN"]
    assert body["data"] == {"portal": None}


def _literal(type_: GraphQLInputType) -> str:
    """A value of `type_` as a GraphQL literal: enough for a document to pass validation."""
    if isinstance(type_, GraphQLNonNull):
        return _literal(type_.of_type)
    if isinstance(type_, GraphQLList):
        return f"[{_literal(type_.of_type)}]"
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        required = [
            f"{name}: {_literal(field.type)}"
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull)
        ]
        return "{" + ", ".join(required) + "}"
    assert isinstance(type_, GraphQLScalarType)
    return {"Int": "1", "Float": "1.5", "Boolean": "true"}.get(type_.name, '"x"')


def _document(operation: str, name: str, field: GraphQLField) -> str:
    arguments = ", ".join(
        f"{argument}: {_literal(spec.type)}"
        for argument, spec in field.args.items()
        if isinstance(spec.type, GraphQLNonNull)
    )
    call = f"{name}({arguments})" if arguments else name
    returned = get_named_type(field.type)
    leaf = isinstance(returned, GraphQLScalarType | GraphQLEnumType)
    selection = "" if leaf else "{ __typename }"
    return f"{operation} {{ {call} {selection} }}"


SCHEMA = graphql_schema(build_schema())
OTHER_OPERATIONS = {
    **{
        f"query {name}": _document("query", name, field)
        for name, field in SCHEMA.query_type.fields.items()
        if name != "portal"
    },
    **{
        f"mutation {name}": _document("mutation", name, field)
        for name, field in SCHEMA.mutation_type.fields.items()
    },
    "introspection": "{ __schema { queryType { name } } }",
    "__type": '{ __type(name: "Account") { name } }',
    "portal beside another field": "{ portal { contact { firstName } } viewer { firm { id } } }",
    "a field inside a fragment": "{ ...f } fragment f on Query { accounts { totalCount } }",
    "mutation of only __typename": "mutation { __typename }",
}


@pytest.fixture(scope="module")
async def portal_session(database: Any) -> Any:
    """A firm with one portal contact signed in: (its API client, the contact's token)."""
    async with new_firm(database) as api:
        _, email = await portal_contact(api)
        yield api, await portal_token(api, email)


@pytest.mark.parametrize("document", list(OTHER_OPERATIONS.values()), ids=list(OTHER_OPERATIONS))
async def test_every_other_field_and_every_mutation_is_forbidden_to_a_portal_token(
    portal_session: tuple[Api, str], document: str
) -> None:
    api, token = portal_session

    body = await api.execute(document, token=token)

    assert body.get("data") is None, body
    assert codes(body) and set(codes(body)) == {"FORBIDDEN"}, body


async def test_a_portal_token_is_never_a_staff_token_nor_the_reverse(
    portal_session: tuple[Api, str],
) -> None:
    api, token = portal_session

    with pytest.raises(InvalidToken):
        read_token(SECRET, token)
    with pytest.raises(InvalidToken):
        read_portal_token(SECRET, api.token)
    staff_claims = jwt.decode(api.token, SECRET, algorithms=["HS256"], audience="clientgraph")
    dressed_up = jwt.encode({**staff_claims, "aud": "clientgraph-portal"}, SECRET)
    response = await api.post(PORTAL, token=dressed_up)
    assert response.status_code == 401


async def test_a_portal_token_with_a_forged_signature_is_refused(
    portal_session: tuple[Api, str],
) -> None:
    api, token = portal_session
    claims = jwt.decode(token, options={"verify_signature": False})

    forged = jwt.encode(claims, "not the service's key at all, just a guess", algorithm="HS256")

    assert (await api.post(PORTAL, token=forged)).status_code == 401


# --- revocation ---------------------------------------------------------------------------


async def test_revoking_portal_access_stops_the_token_at_once(api: Api) -> None:
    contact_id, email = await portal_contact(api)
    token = await portal_token(api, email)
    assert (await api.post(PORTAL, token=token)).status_code == 200

    await api.ok("revokePortalAccess", {"contactId": contact_id})

    assert (await api.post(PORTAL, token=token)).status_code == 401
    assert (await login(api, email)).status_code == 401
    assert (await contact_state(api, contact_id))["portalAccess"] == "NONE"


async def test_deleting_the_contact_stops_the_token_at_once(api: Api) -> None:
    contact_id, email = await portal_contact(api)
    token = await portal_token(api, email)

    await api.ok("deleteContact", {"contactId": contact_id})

    assert (await api.post(PORTAL, token=token)).status_code == 401
    assert (await login(api, email)).status_code == 401


async def test_removing_the_sign_in_address_from_the_contact_stops_the_token(api: Api) -> None:
    contact_id, email = await portal_contact(api)
    token = await portal_token(api, email)

    await api.ok("updateContact", {"contactId": contact_id, "email": unique_email("new")})

    assert (await api.post(PORTAL, token=token)).status_code == 401
    assert (await login(api, email)).status_code == 401
    assert (await contact_state(api, contact_id))["portalAccess"] == "ACTIVE"


async def test_access_given_again_after_revocation_does_not_revive_old_tokens(api: Api) -> None:
    contact_id, email = await portal_contact(api)
    old_token = await portal_token(api, email)
    await api.ok("revokePortalAccess", {"contactId": contact_id})
    await api.ok("inviteContact", {"contactId": contact_id})
    token = (await queued_tokens(api, contact_id))[-1]
    assert (await accept(api, token, "a brand new passphrase")).status_code == 204

    assert (await api.post(PORTAL, token=old_token)).status_code == 401
    assert (await login(api, email)).status_code == 401, "the old password is gone"
    assert (await login(api, email, "a brand new passphrase")).status_code == 200


async def test_two_acceptances_of_one_link_at_once_activate_it_once(api: Api) -> None:
    mette = unique_email("mette")
    contact_id = await new_contact(api, first="Mette", email=mette)
    await api.ok("inviteContact", {"contactId": contact_id})
    [token] = await queued_tokens(api, contact_id)

    first, second = await asyncio.gather(
        accept(api, token, "first long password"), accept(api, token, "second long password")
    )

    assert sorted([first.status_code, second.status_code]) == [204, 400]
    winner = "first long password" if first.status_code == 204 else "second long password"
    assert (await login(api, mette, winner)).status_code == 200
    history = await api.data(
        "query($id: ID!) { contact(id: $id) { history { nodes { action actor { id } } } } }",
        {"id": contact_id},
    )
    actions = [node["action"] for node in history["contact"]["history"]["nodes"]]
    assert actions.count("contact.portal_invitation_accepted") == 1


async def test_the_invitation_row_keeps_only_a_hash_of_the_token(api: Api) -> None:
    mette = unique_email("mette")
    contact_id = await new_contact(api, first="Mette", email=mette)
    await api.ok("inviteContact", {"contactId": contact_id})
    [token] = await queued_tokens(api, contact_id)

    async with api.db.firm_session(api.firm_id) as session:
        stored = (
            await session.scalars(
                select(models.PortalInvitation.token_hash).where(
                    models.PortalInvitation.firm_id == api.firm_id
                )
            )
        ).all()

    secret = token.partition(".")[2]
    assert stored == [hashlib.sha256(secret.encode()).hexdigest()]


async def test_the_demo_firm_has_a_client_signed_up_to_the_portal(database: Database) -> None:
    owner = Database(owner_url(database))
    try:
        await seed_demo(owner)
    finally:
        await owner.dispose()

    async with new_firm(database) as api:
        token = await portal_token(api, DEMO_PORTAL_EMAIL, DEMO_PORTAL_PASSWORD)
        data = await api.data(PORTAL, token=token)

    assert data["portal"]["contact"]["emails"] == [DEMO_PORTAL_EMAIL]
    assert [link["account"]["name"] for link in data["portal"]["accounts"]] == [
        "Bageriet Solsikken",
        "Lyngby Tandklinik",
    ]
