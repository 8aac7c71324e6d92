"""The demo firm's staff sign in with passwords, and `serve --demo` prints the owner's (issue 9,
points 1 and 7)."""

from __future__ import annotations

import re

import httpx
import pytest
from clientgraph.app import create_app
from clientgraph.cli import prepare_demo
from clientgraph.db.engine import Database
from clientgraph.demo import DEMO_ADMIN_EMAIL, DEMO_PASSWORD, STAFF, seed_demo
from clientgraph.outbox.emails import INVITATION_KIND, SET_PASSWORD_KIND

from tests.support import SECRET, owner_url, settings_for


async def test_the_demo_banner_prints_the_owners_email_and_a_password_that_signs_in(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(owner_url(database))

    await prepare_demo(settings, "127.0.0.1:8000")

    banner = capsys.readouterr().out
    email = re.search(r"e-mail:\s+(\S+)", banner)
    password = re.search(r"password:\s+(\S+)", banner)
    assert email is not None and password is not None, banner
    app = create_app(settings_for(database.url), database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        owner = await http.post("/auth/login", json={"email": email[1], "password": password[1]})
        staff = [
            await http.post("/auth/login", json={"email": address, "password": password[1]})
            for _, address, _ in STAFF
        ]
        viewer = await http.post(
            "/graphql",
            json={"query": "{ viewer { user { name role } } }"},
            headers={"Authorization": f"Bearer {owner.json()['accessToken']}"},
        )

    assert owner.status_code == 200, owner.text
    assert [response.status_code for response in staff] == [200] * len(STAFF)
    assert viewer.json()["data"]["viewer"]["user"] == {"name": "Astrid Lund", "role": "OWNER"}
    assert SECRET not in banner


DELIVERIES = "{ emailDeliveries(first: 100) { nodes { kind recipient } } }"


async def test_the_demo_queues_no_set_password_email_for_its_staff_who_have_a_password(
    database: Database,
) -> None:
    owner = Database(owner_url(database))
    try:
        await seed_demo(owner)
    finally:
        await owner.dispose()

    app = create_app(settings_for(database.url), database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        signed_in = await http.post(
            "/auth/login", json={"email": DEMO_ADMIN_EMAIL, "password": DEMO_PASSWORD}
        )
        deliveries = await http.post(
            "/graphql",
            json={"query": DELIVERIES},
            headers={"Authorization": f"Bearer {signed_in.json()['accessToken']}"},
        )

    nodes = deliveries.json()["data"]["emailDeliveries"]["nodes"]
    assert [node for node in nodes if node["kind"] == SET_PASSWORD_KIND] == []
    assert [node["kind"] for node in nodes] == [INVITATION_KIND]
