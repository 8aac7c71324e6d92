"""Helpers for tests that need a contact in the client portal: the link an invitation queued,
and a contact invited and signed up in one step."""

from __future__ import annotations

import uuid
from typing import Any

from clientgraph.db import models
from clientgraph.ids import decode_id
from sqlalchemy import select

from tests.support import Api

PASSWORD = "correct horse battery staple"


async def queued_tokens(api: Api, contact_id: str) -> list[str]:
    """The tokens of the invitation e-mails queued for a contact, oldest first (what the
    relay would send; read from the outbox, where setup is not the point)."""
    contact_uuid = decode_id(contact_id, "Contact")
    event = models.OutboxEvent
    async with api.db.firm_session(api.firm_id) as session:
        payloads = await session.scalars(
            select(event.payload)
            .where(event.firm_id == api.firm_id, event.kind == "contact.portal_invitation")
            .order_by(event.created_at, event.id)
        )
        return [
            payload["token"]
            for payload in payloads
            if payload.get("contactId") == str(contact_uuid) and "token" in payload
        ]


async def accept(api: Api, token: str, password: str = PASSWORD) -> Any:
    return await api.http.post("/portal/accept", json={"token": token, "password": password})


async def login(api: Api, email: str, password: str = PASSWORD, **extra: Any) -> Any:
    body = {"email": email, "password": password, **extra}
    return await api.http.post("/portal/login", json=body)


async def portal_contact(
    api: Api, *, email: str | None = None, first_name: str = "Mette", links: Any = ()
) -> tuple[str, str]:
    """A contact with portal access ACTIVE and password PASSWORD: (its id, its e-mail)."""
    email = email or f"client-{uuid.uuid4().hex[:10]}@example.dk"
    contact = await api.ok(
        "createContact",
        {"firstName": first_name, "lastName": "Hansen", "email": email, "links": list(links)},
        "contact { id }",
    )
    contact_id = contact["contact"]["id"]
    await api.ok("inviteContact", {"contactId": contact_id})
    [token] = await queued_tokens(api, contact_id)
    response = await accept(api, token)
    assert response.status_code == 204, response.text
    return contact_id, email
