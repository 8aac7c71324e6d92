"""The pages the e-mailed links open, in a real headless Chromium (issue 13, point 2): a real
server on a free port sends a real e-mail (the relay, over SMTP to aiosmtpd); the browser opens
the link in it, and a new staff user ends signed in to GraphiQL, an invited client signed in
to the portal with their account before them. Chrome's network log shows every request the
pages made, so a request to any other host fails the test.

Needs Debian's `chromium` and `chromium-driver`, as tests/test_graphiql_browser.py does (a
skip without them, a failure with CLIENTGRAPH_REQUIRE_BROWSER=1)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from clientgraph.db.engine import Database
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.support import Api
from tests.test_graphiql_browser import GraphiQL, browser, browser_installed, in_browser
from tests.test_links import (
    create_user,
    invitation_link,
    live_api,
    relay_once,
    set_password_link,
)
from tests.test_outbox_relay import Inbox, inbox

__all__ = ["browser", "browser_installed", "inbox"]

NEW_PASSWORD = "a long and new passphrase"
VIEWER_QUERY = "query Whoami { viewer { user { email } firm { name } } }"


@dataclass
class LinkPage(GraphiQL):
    """A page an e-mailed link opened, in the browser (and GraphiQL, where it leads)."""

    def open_link(self, link: str) -> None:
        self.driver.get(link)
        self.wait(lambda _: self.shown("outcome") or self.shown("password"), "the page")

    def choose_password(self, first: str, second: str) -> None:
        self.wait(lambda _: self.shown("password"), "the password form")
        for element_id, text in (("password", first), ("password-again", second)):
            field = self.driver.find_element(By.ID, element_id)
            field.clear()
            field.send_keys(text)
        self.driver.find_element(By.ID, "submit").click()

    def outcome(self, containing: str) -> str:
        return self.wait(
            lambda _: containing in (text := self.text("outcome")) and text,
            f"an outcome saying {containing!r}",
        )

    def path(self) -> str:
        return urlsplit(self.driver.current_url).path

    def sign_in_to_portal(self, email: str, password: str) -> None:
        self.wait(lambda _: self.shown("email"), "the portal's sign-in form")
        self.driver.find_element(By.ID, "email").send_keys(email)
        self.driver.find_element(By.ID, "password").send_keys(password)
        self.driver.find_element(By.ID, "sign-in-submit").click()

    def portal_accounts(self) -> list[str]:
        self.wait(lambda _: self.shown("portal"), "the portal")
        return [
            str(item.text)
            for item in self.wait(
                lambda d: d.find_elements(By.CSS_SELECTOR, "#accounts li"), "the accounts"
            )
        ]


@contextlib.asynccontextmanager
async def emailed_link_server(
    database: Database, browser: WebDriver
) -> AsyncIterator[tuple[Api, LinkPage]]:
    """A new firm's owner on a real server, and the browser on no page yet."""
    async with live_api(database) as (api, port):
        yield api, LinkPage(browser, f"http://127.0.0.1:{port}")


async def test_a_new_user_opens_the_emailed_link_sets_a_password_and_lands_in_graphiql(
    browser: WebDriver, database: Database, inbox: tuple[Inbox, int]
) -> None:
    received, smtp_port = inbox
    async with emailed_link_server(database, browser) as (api, page):
        email = await create_user(api.http, api.token)
        await relay_once(database, smtp_port)
        link = set_password_link(received.to(email)[0])

        await in_browser(lambda: page.open_link(link))
        await in_browser(lambda: page.choose_password(NEW_PASSWORD, NEW_PASSWORD))
        await in_browser(page.wait_for_graphiql)
        result = await in_browser(lambda: page.run(VIEWER_QUERY))

        assert link.startswith(f"{page.base_url}/set-password?token=")
        assert await in_browser(page.path) == "/graphql"
        assert result["data"]["viewer"]["user"] == {"email": email}
        assert email in await in_browser(lambda: page.text("signed-in-as"))
        assert await in_browser(page.foreign_requests) == []
        assert await in_browser(page.console_errors) == []


async def test_an_invited_client_accepts_signs_in_to_the_portal_and_sees_their_account(
    browser: WebDriver, database: Database, inbox: tuple[Inbox, int]
) -> None:
    received, smtp_port = inbox
    async with emailed_link_server(database, browser) as (api, page):
        account = await api.create_account(f"Havnens Marina {uuid.uuid4().hex[:6]}")
        email = f"client-{uuid.uuid4().hex[:10]}@example.dk"
        link_to_account = {
            "accountId": account["id"],
            "roles": ["COMMERCIAL"],
            "description": "CFO",
        }
        contact = {"firstName": "Mette", "lastName": "Hansen", "email": email}
        created = await api.ok(
            "createContact", {**contact, "links": [link_to_account]}, "contact { id }"
        )
        await api.ok("inviteContact", {"contactId": created["contact"]["id"]})
        await relay_once(database, smtp_port)
        link = invitation_link(received.to(email)[0])

        await in_browser(lambda: page.open_link(link))
        await in_browser(lambda: page.choose_password(NEW_PASSWORD, NEW_PASSWORD))
        accepted = await in_browser(lambda: page.outcome("accepted"))
        await in_browser(lambda: page.driver.find_element(By.ID, "next-link").click())
        await in_browser(lambda: page.sign_in_to_portal(email, NEW_PASSWORD))
        accounts = await in_browser(page.portal_accounts)

        assert link.startswith(f"{page.base_url}/portal/accept?token=")
        assert "Your invitation is accepted" in accepted
        assert await in_browser(page.path) == "/portal"
        assert accounts == [f"{account['name']}\nCFO · commercial"]
        assert "Mette Hansen" in await in_browser(lambda: page.text("signed-in-as"))
        assert await in_browser(page.foreign_requests) == []
        assert await in_browser(page.console_errors) == []


async def test_the_page_says_when_a_password_is_too_short_or_the_two_differ(
    browser: WebDriver, database: Database, inbox: tuple[Inbox, int]
) -> None:
    received, smtp_port = inbox
    async with emailed_link_server(database, browser) as (api, page):
        email = await create_user(api.http, api.token)
        await relay_once(database, smtp_port)
        await in_browser(lambda: page.open_link(set_password_link(received.to(email)[0])))
        rule = await in_browser(lambda: page.text("rule"))

        await in_browser(lambda: page.choose_password("too short", "too short"))
        too_short = await in_browser(lambda: page.outcome("at least"))
        await in_browser(lambda: page.choose_password(NEW_PASSWORD, NEW_PASSWORD + "!"))
        differ = await in_browser(lambda: page.outcome("differ"))

        assert rule == "At least 12 characters, at most 256."
        assert too_short == "A password needs at least 12 characters."
        assert differ == "The two passwords differ: type the same password twice."
        assert await in_browser(page.path) == "/set-password"
        assert await in_browser(lambda: page.shown("password-form"))


async def test_a_link_used_already_says_so_and_leads_to_the_sign_in(
    browser: WebDriver, database: Database, inbox: tuple[Inbox, int]
) -> None:
    received, smtp_port = inbox
    async with emailed_link_server(database, browser) as (api, page):
        email = await create_user(api.http, api.token)
        await relay_once(database, smtp_port)
        link = set_password_link(received.to(email)[0])
        [token] = parse_qs(urlsplit(link).query)["token"]
        await api.http.post("/auth/set-password", json={"token": token, "password": NEW_PASSWORD})

        await in_browser(lambda: page.open_link(link))
        await in_browser(lambda: page.choose_password("another passphrase", "another passphrase"))
        used = await in_browser(lambda: page.outcome("already used"))
        next_link = await in_browser(lambda: page.driver.find_element(By.ID, "next-link"))

        assert used.startswith("This link was already used to set a password.")
        assert not await in_browser(lambda: page.shown("password-form"))
        assert await in_browser(lambda: next_link.text) == "Sign in to GraphiQL"
        assert await in_browser(lambda: next_link.get_attribute("href")) == (
            f"{page.base_url}/graphql"
        )
