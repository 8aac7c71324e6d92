"""Inviting contacts to the client portal and revoking their access through the API, on every
backend: who may, which e-mail is sent, and what voids an invitation."""

from __future__ import annotations

from typing import Any

from clientgraph.db.models import OutboxEvent
from sqlalchemy import select

from tests.contact_support import (
    CONTACT_SELECTION,
    contact_history,
    create_contact,
    read_contact,
)
from tests.support import Api, errors_of, top_level_codes

INVITE_CONTACT = """
mutation($input: InviteContactInput!) {
  inviteContact(input: $input) { contact { portalAccess } userErrors { field code } }
}
"""
REVOKE_PORTAL_ACCESS = """
mutation($input: RevokePortalAccessInput!) {
  revokePortalAccess(input: $input) { contact { portalAccess } userErrors { field code } }
}
"""


async def outbox(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    """The firm's portal invitations in the outbox, oldest first: (kind, recipient, payload).
    (Creating a staff user queues a set-password e-mail, which is not what these tests see.)"""
    async with api.db.firm_session(api.firm_id) as session:
        rows = await session.scalars(
            select(OutboxEvent)
            .where(
                OutboxEvent.firm_id == api.firm_id,
                OutboxEvent.kind == "contact.portal_invitation",
            )
            .order_by(OutboxEvent.created_at)
        )
        return [(row.kind, row.recipient, row.payload) for row in rows]


async def test_inviting_a_contact_needs_create_client_users(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen", email="mette@example.dk")
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", "EDIT_CLIENT_USER_RIGHTS")

    body = await api.execute(INVITE_CONTACT, {"input": {"contactId": contact["id"]}}, token)

    assert top_level_codes(body) == ["FORBIDDEN"]
    assert (await read_contact(api, contact["id"]))["portalAccess"] == "NONE"
    assert await outbox(api) == []


async def test_inviting_a_contact_sends_one_invitation_to_the_primary_email(api: Api) -> None:
    contact = await create_contact(
        api, "Mette", "Hansen", email="mette@example.dk", extraEmails=["m.hansen@example.com"]
    )
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "CREATE_CLIENT_USERS")

    payload = await api.ok(
        "inviteContact", {"contactId": contact["id"]}, "contact { portalAccess version }", token
    )

    assert payload["contact"] == {"portalAccess": "INVITED", "version": 2}
    sent = await outbox(api)
    assert [(kind, recipient) for kind, recipient, _ in sent] == [
        ("contact.portal_invitation", "mette@example.dk")
    ]
    assert (sent[0][2]["name"], sent[0][2]["resend"]) == ("Mette Hansen", False)
    assert (await contact_history(api, contact["id"]))[0]["action"] == "contact.invited"


async def test_inviting_an_invited_contact_again_resends_the_invitation(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen", email="mette@example.dk")
    await api.ok("inviteContact", {"contactId": contact["id"]})

    payload = await api.ok("inviteContact", {"contactId": contact["id"]}, CONTACT_SELECTION)

    assert payload["contact"]["portalAccess"] == "INVITED"
    sent = await outbox(api)
    assert [(kind, recipient, body["resend"]) for kind, recipient, body in sent] == [
        ("contact.portal_invitation", "mette@example.dk", False),
        ("contact.portal_invitation", "mette@example.dk", True),
    ]
    actions = [event["action"] for event in await contact_history(api, contact["id"])]
    assert actions == ["contact.invitation_resent", "contact.invited", "contact.created"]


async def test_a_contact_without_email_cannot_be_invited(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen")

    payload = await api.mutate("inviteContact", {"contactId": contact["id"]}, CONTACT_SELECTION)

    assert payload["contact"] is None
    assert errors_of(payload) == [(["contactId"], "REQUIRED")]
    assert (await read_contact(api, contact["id"]))["portalAccess"] == "NONE"
    assert await outbox(api) == []


async def test_revoking_portal_access_needs_delete_client_users(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen", email="mette@example.dk")
    await api.ok("inviteContact", {"contactId": contact["id"]})
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS", "CREATE_CLIENT_USERS")

    body = await api.execute(REVOKE_PORTAL_ACCESS, {"input": {"contactId": contact["id"]}}, token)

    assert top_level_codes(body) == ["FORBIDDEN"]
    assert (await read_contact(api, contact["id"]))["portalAccess"] == "INVITED"


async def test_revoking_portal_access_takes_back_the_invitation(api: Api) -> None:
    contact = await create_contact(api, "Mette", "Hansen", email="mette@example.dk")
    await api.ok("inviteContact", {"contactId": contact["id"]})
    _, token = await api.staff("VIEW_ALL_ACCOUNTS", "DELETE_CLIENT_USERS")

    payload = await api.ok(
        "revokePortalAccess", {"contactId": contact["id"]}, "contact { portalAccess }", token
    )

    assert payload["contact"] == {"portalAccess": "NONE"}
    assert (await read_contact(api, contact["id"]))["portalAccess"] == "NONE"


async def test_changing_the_primary_email_of_an_invited_contact_voids_the_invitation(
    api: Api,
) -> None:
    contact = await create_contact(api, "Mette", "Hansen", email="mette@example.dk")
    await api.ok("inviteContact", {"contactId": contact["id"]})

    payload = await api.ok(
        "updateContact",
        {"contactId": contact["id"], "email": "mette@hansen.dk"},
        CONTACT_SELECTION,
    )

    assert (payload["contact"]["email"], payload["contact"]["portalAccess"]) == (
        "mette@hansen.dk",
        "NONE",
    )
    latest = (await contact_history(api, contact["id"]))[0]
    assert latest["action"] == "contact.updated"
    assert latest["changes"] == [
        {"field": "email", "from": "mette@example.dk", "to": "mette@hansen.dk"},
        {"field": "portalAccess", "from": "INVITED", "to": "NONE"},
    ]


async def test_changing_only_the_phone_of_an_invited_contact_keeps_the_invitation(
    api: Api,
) -> None:
    contact = await create_contact(api, "Mette", "Hansen", email="mette@example.dk")
    await api.ok("inviteContact", {"contactId": contact["id"]})

    payload = await api.ok(
        "updateContact",
        {"contactId": contact["id"], "phone": "20 12 34 56", "phoneCountry": "DK"},
        CONTACT_SELECTION,
    )

    assert (payload["contact"]["phone"], payload["contact"]["portalAccess"]) == (
        "+4520123456",
        "INVITED",
    )
