"""Where the e-mailed links lead (issue 13, point 2): to the pages a firm configured
(`CLIENTGRAPH_APP_URL`, `CLIENTGRAPH_PORTAL_URL`), else to the pages of the server that made
them, at the address it listens on — under the suite's live server, `clientgraph serve` with
two workers (and its demo), and the bare ASGI factory under uvicorn — never at an address a
request's Host header names.

The e-mails are real: the relay sends them over SMTP to aiosmtpd. Where the server is a
subprocess, it runs on an embedded SQLite file: what is tested is the address, not the
database."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from clientgraph import links
from clientgraph.app import create_app
from clientgraph.auth.access_tokens import issue_token
from clientgraph.db.engine import Database
from clientgraph.db.migrate import upgrade
from clientgraph.demo import CONTACTS, DEMO_ADMIN_EMAIL, DEMO_PASSWORD
from clientgraph.outbox import service
from clientgraph.resolvers.firms import create_firm
from clientgraph.settings import Settings
from pydantic import ValidationError

from tests.live_server import serve
from tests.server_process import free_port, running, server_environment, wait_until_ready
from tests.support import SECRET, Api, eventually, settings_for
from tests.test_outbox_relay import Inbox, inbox
from tests.test_serve import clientgraph_serve

__all__ = ["inbox"]

UVICORN = str(Path(sys.executable).with_name("uvicorn"))
CREATE_USER = """
mutation($input: CreateUserInput!) { createUser(input: $input) { userErrors { code } } }
"""
CREATE_CONTACT = """
mutation($input: CreateContactInput!) {
  createContact(input: $input) { contact { id } userErrors { code } }
}
"""
INVITE = """
mutation($input: InviteContactInput!) { inviteContact(input: $input) { userErrors { code } } }
"""
WAIT_FOR_MAIL_S = 60


def link_in(message: EmailMessage, marker: str) -> str:
    [link] = [line for line in message.get_content().splitlines() if marker in line]
    return link


def set_password_link(message: EmailMessage) -> str:
    return link_in(message, "/set-password?token=")


def invitation_link(message: EmailMessage) -> str:
    return link_in(message, "/accept?token=")


async def create_user(http: httpx.AsyncClient, token: str, **headers: str) -> str:
    """A new staff user, made through `http`: their e-mail address."""
    email = f"new-{uuid.uuid4().hex[:10]}@example.com"
    variables = {"input": {"name": "Nora Nyholm", "email": email, "role": "STAFF"}}
    response = await http.post(
        "/graphql",
        json={"query": CREATE_USER, "variables": variables},
        headers={"Authorization": f"Bearer {token}", **headers},
    )
    assert response.json()["data"]["createUser"]["userErrors"] == [], response.text
    return email


async def invite_contact(http: httpx.AsyncClient, token: str) -> str:
    """A new contact invited to the portal through `http`: their e-mail address."""
    email = f"client-{uuid.uuid4().hex[:10]}@example.dk"
    headers = {"Authorization": f"Bearer {token}"}
    contact = {"firstName": "Mette", "lastName": "Hansen", "email": email}
    created = await http.post(
        "/graphql",
        json={"query": CREATE_CONTACT, "variables": {"input": contact}},
        headers=headers,
    )
    contact_id = created.json()["data"]["createContact"]["contact"]["id"]
    invited = await http.post(
        "/graphql",
        json={"query": INVITE, "variables": {"input": {"contactId": contact_id}}},
        headers=headers,
    )
    assert invited.json()["data"]["inviteContact"]["userErrors"] == [], invited.text
    return email


async def mail_to(received: Inbox, email: str) -> EmailMessage:
    """The one message `email` receives, once it arrives."""
    await eventually(lambda: bool(received.to(email)), timeout=WAIT_FOR_MAIL_S)
    [message] = received.to(email)
    return message


# --- the suite's live server --------------------------------------------------------------------


@contextlib.asynccontextmanager
async def live_api(database: Database, **settings: str) -> AsyncIterator[tuple[Api, int]]:
    """A new firm's owner talking to a real server on a free port: (its client, the port)."""
    firm_id, user_id = await create_firm(
        database,
        name=f"Firm {uuid.uuid4().hex[:8]}",
        admin_email=f"owner-{uuid.uuid4().hex[:8]}@example.com",
        admin_name="Firm Owner",
    )
    async with serve(create_app(settings_for(database.url, **settings), database)) as port:
        base_url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base_url) as http:
            token = issue_token(SECRET, user_id=user_id, firm_id=firm_id, ttl_seconds=3600)
            yield Api(http=http, db=database, firm_id=firm_id, user_id=user_id, token=token), port


async def relay_once(database: Database, smtp_port: int, **settings: str) -> None:
    mail = settings_for(database.url, smtp_url=f"smtp://127.0.0.1:{smtp_port}", **settings)
    await service.relay(mail, database).run_once()


async def test_without_settings_links_lead_to_the_pages_of_the_server_that_made_them(
    database: Database, inbox: tuple[Inbox, int]
) -> None:
    received, smtp_port = inbox
    async with live_api(database) as (api, port):
        user_email = await create_user(api.http, api.token)
        client_email = await invite_contact(api.http, api.token)
        await relay_once(database, smtp_port)
        set_password = set_password_link(received.to(user_email)[0])
        invitation = invitation_link(received.to(client_email)[0])
        pages = [await api.http.get(link) for link in (set_password, invitation)]

    assert set_password.startswith(f"http://127.0.0.1:{port}/set-password?token=")
    assert invitation.startswith(f"http://127.0.0.1:{port}/portal/accept?token=")
    assert [page.status_code for page in pages] == [200, 200]


async def test_the_host_header_does_not_choose_where_a_link_leads(
    database: Database, inbox: tuple[Inbox, int]
) -> None:
    received, smtp_port = inbox
    async with live_api(database) as (api, port):
        email = await create_user(api.http, api.token, Host="attacker.example")
        await relay_once(database, smtp_port)

    assert urlsplit(set_password_link(received.to(email)[0])).netloc == f"127.0.0.1:{port}"


async def test_a_firm_sends_its_links_to_its_own_pages(
    database: Database, inbox: tuple[Inbox, int]
) -> None:
    received, smtp_port = inbox
    own_pages = {
        "app_url": "https://app.nordlys.example/",
        "portal_url": "https://nordlys.dk/kunder",
    }
    async with live_api(database) as (api, _):
        user_email = await create_user(api.http, api.token)
        client_email = await invite_contact(api.http, api.token)
    await relay_once(database, smtp_port, **own_pages)

    set_password = set_password_link(received.to(user_email)[0])
    invitation = invitation_link(received.to(client_email)[0])
    assert set_password.startswith("https://app.nordlys.example/set-password?token=")
    assert invitation.startswith("https://nordlys.dk/kunder/accept?token=")


@pytest.mark.parametrize(
    "value", ["app.example.com", "ftp://app.example.com", "https://", "https://a.example/?x=1"]
)
def test_a_page_address_that_is_not_one_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="CLIENTGRAPH_APP_URL"):
        Settings(app_url=value)


def test_an_empty_page_address_is_unset() -> None:
    assert Settings(app_url="", portal_url=" ").model_dump(include={"app_url", "portal_url"}) == {
        "app_url": None,
        "portal_url": None,
    }


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", 8000, "http://127.0.0.1:8000"),
        ("0.0.0.0", 9123, "http://127.0.0.1:9123"),
        ("::", 9123, "http://[::1]:9123"),
        ("fe80::1", 80, "http://[fe80::1]"),
        ("clients.example", 80, "http://clients.example"),
    ],
)
def test_a_server_address_becomes_a_link_base(host: str, port: int, expected: str) -> None:
    assert links.base_url(host, port) == expected


# --- clientgraph serve and the ASGI factory -----------------------------------------------------


def mail_env(smtp_port: int) -> dict[str, str]:
    return {
        "CLIENTGRAPH_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "CLIENTGRAPH_OUTBOX_RELAY": "true",
        "CLIENTGRAPH_OUTBOX_POLL_INTERVAL_S": "0.2",
    }


async def test_clientgraph_serve_with_two_workers_links_to_its_own_port(
    tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    received, smtp_port = inbox
    with clientgraph_serve(tmp_path, "--demo", workers=2, env=mail_env(smtp_port)) as served:
        base_url = f"http://127.0.0.1:{served.port}"
        async with httpx.AsyncClient(base_url=base_url) as http:
            signed_in = await http.post(
                "/auth/login", json={"email": DEMO_ADMIN_EMAIL, "password": DEMO_PASSWORD}
            )
        token = signed_in.json()["accessToken"]
        emails = []
        for _ in range(4):  # a connection each, so that both workers take some
            async with httpx.AsyncClient(base_url=base_url) as http:
                emails.append(await create_user(http, token))
        messages = [await mail_to(received, email) for email in emails]
        demo_invitation = await mail_to(received, CONTACTS[0][2])

    for message in messages:
        assert set_password_link(message).startswith(f"{base_url}/set-password?token=")
    assert invitation_link(demo_invitation).startswith(f"{base_url}/portal/accept?token=")


@contextlib.contextmanager
def uvicorn_factory(directory: Path, env: dict[str, str]) -> Iterator[int]:
    """`uvicorn clientgraph.app:create_app --factory` on a free port, until the block ends."""
    port = free_port()
    log = directory / "uvicorn.log"
    command = [UVICORN, "clientgraph.app:create_app", "--factory", "--port", str(port)]
    with running(command, server_environment(**env), log, cwd=directory) as process:
        wait_until_ready(process, f"http://127.0.0.1:{port}", log)
        yield port


async def test_the_asgi_factory_under_uvicorn_links_to_its_own_port(
    tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    received, smtp_port = inbox
    url = f"sqlite+aiosqlite:///{tmp_path / 'factory.db'}"
    await asyncio.to_thread(upgrade, url, "head")
    db = Database(url)
    try:
        firm_id, user_id = await create_firm(
            db, name="Factory Firm", admin_email="owner@factory.example", admin_name="Owner"
        )
    finally:
        await db.dispose()
    token = issue_token(SECRET, user_id=user_id, firm_id=firm_id, ttl_seconds=3600)
    env = {"DATABASE_URL": url, "CLIENTGRAPH_SECRET": SECRET, **mail_env(smtp_port)}

    with uvicorn_factory(tmp_path, env) as port:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            email = await create_user(http, token)
            message = await mail_to(received, email)

    assert set_password_link(message).startswith(f"http://127.0.0.1:{port}/set-password?token=")
