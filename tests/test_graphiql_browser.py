"""GraphiQL in a real headless Chromium (issue 9 point 4): a real server on SQLite and on
PostgreSQL, a staff user with a password, and the page driven as support staff use it — open
it, sign in, run a query, read the result — while Chrome's own network log shows every request
the page made, so a request to any other host fails the test.

Needs Debian's `chromium` and `chromium-driver` (`/usr/bin/chromium`, `/usr/bin/chromedriver`);
without them the tests are skipped, unless CLIENTGRAPH_REQUIRE_BROWSER=1 (CI), which makes a
missing browser a failure."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import jwt
import pytest
from clientgraph import passwords
from clientgraph.app import create_app
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.ids import decode_id
from clientgraph.resolvers.firms import create_firm
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.live_server import serve
from tests.oidc_login_provider import CLIENT_ID, LoginProvider, serve_login_provider
from tests.support import Api, settings_for

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
REQUIRE_BROWSER = os.environ.get("CLIENTGRAPH_REQUIRE_BROWSER") == "1"
PASSWORD = "correct horse battery staple"
WAIT_S = 30
ACCOUNTS_QUERY = "query Clients { accounts(first: 10) { totalCount nodes { name } } }"
VIEWER_QUERY = "query Whoami { viewer { user { email } firm { name } } }"
SUBSCRIPTION = "subscription Live { accountChanged { action account { name } } }"

T = TypeVar("T")


def _browser_missing() -> str | None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        return f"{' and '.join(missing)} missing: apt-get install -y chromium chromium-driver"
    return None


@pytest.fixture(scope="session")
def browser_installed() -> None:
    problem = _browser_missing()
    if problem is not None:
        if REQUIRE_BROWSER:
            pytest.fail(problem + " (CLIENTGRAPH_REQUIRE_BROWSER=1)")
        pytest.skip(problem)


def _start_chromium() -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: str
    status: int | None = None


@dataclass
class GraphiQL:
    """The page in one browser, driven from a worker thread (Selenium blocks; the server runs
    on the test's event loop)."""

    driver: WebDriver
    base_url: str
    _requests: dict[str, Request] = field(default_factory=dict)

    def wait(self, condition: Callable[[WebDriver], T], what: str) -> T:
        try:
            return WebDriverWait(self.driver, WAIT_S).until(condition)
        except TimeoutException:
            raise AssertionError(
                f"waited {WAIT_S} s for {what}; the page says: "
                + self.driver.find_element(By.TAG_NAME, "body").text[:2000]
            ) from None

    def shown(self, element_id: str) -> bool:
        return bool(self.driver.find_element(By.ID, element_id).is_displayed())

    def text(self, element_id: str) -> str:
        return str(self.driver.find_element(By.ID, element_id).text)

    def open(self) -> None:
        self.driver.get(f"{self.base_url}/graphql")
        self.wait(lambda _: self.shown("sign-in") or self.shown("graphiql"), "the page")

    def sign_in(self, email: str, password: str) -> None:
        self.wait(lambda _: self.shown("email"), "the sign-in form")
        email_field = self.driver.find_element(By.ID, "email")
        email_field.clear()
        email_field.send_keys(email)
        self.driver.find_element(By.ID, "password").send_keys(password)
        self.driver.find_element(By.ID, "sign-in-submit").click()

    def sign_in_error(self) -> str:
        return self.wait(lambda _: self.text("sign-in-error"), "an error on the sign-in form")

    def wait_for_graphiql(self) -> None:
        self.wait(
            lambda d: d.find_elements(By.CSS_SELECTOR, ".graphiql-execute-button"), "GraphiQL"
        )
        self.wait(lambda _: self.text("signed-in-as"), "the signed-in user in the bar")

    def run(self, query: str) -> dict[str, Any]:
        """Type `query` into the editor, press the run button, and read the result pane."""
        before = self.result_text()
        self.submit(query)
        text = self.wait(
            lambda _: (t := self.result_text()) != before and t.strip() and t, "a result"
        )
        return json.loads(text)

    def submit(self, query: str) -> None:
        """Type `query` into the editor and press the run button."""
        self.driver.execute_script(
            "document.querySelector('.graphiql-query-editor .CodeMirror')"
            ".CodeMirror.setValue(arguments[0]);",
            query,
        )
        # GraphiQL takes in an edit (and the operation's name) after a 100 ms debounce, and
        # then keeps the text in localStorage: run only once it has.
        self.wait(
            lambda d: d.execute_script("return localStorage.getItem('graphiql:query')") == query,
            "GraphiQL to take in the query",
        )
        self.driver.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()

    def result_text(self) -> str:
        return str(
            self.driver.execute_script(
                "const pane = document.querySelector('.result-window .CodeMirror');"
                "return pane ? pane.CodeMirror.getValue() : '';"
            )
        )

    def show_schema_documentation(self) -> str:
        self.driver.find_element(
            By.CSS_SELECTOR, "button[aria-label='Show Documentation Explorer']"
        ).click()
        self.wait(
            lambda d: d.find_elements(
                By.CSS_SELECTOR, ".graphiql-doc-explorer a.graphiql-doc-explorer-type-name"
            ),
            "the schema's root types",
        )
        self.driver.find_element(
            By.CSS_SELECTOR, ".graphiql-doc-explorer a.graphiql-doc-explorer-type-name"
        ).click()
        return self.wait(
            lambda d: (
                "accounts" in (t := d.find_element(By.CSS_SELECTOR, ".graphiql-doc-explorer").text)
                and t
            ),
            "the fields of Query",
        )

    def requests(self) -> list[Request]:
        """Every request the page has made so far, with its answer's status, from Chrome's
        DevTools network events."""
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            if message["method"] == "Network.requestWillBeSent":
                sent = params["request"]
                self._requests[params["requestId"]] = Request(
                    sent["method"],
                    sent["url"],
                    {name.lower(): value for name, value in sent.get("headers", {}).items()},
                    sent.get("postData", ""),
                )
            elif message["method"] == "Network.responseReceived":
                request = self._requests.get(params["requestId"])
                if request is not None:
                    request.status = params["response"]["status"]
        return list(self._requests.values())

    def foreign_requests(self, *also_allowed: str) -> list[str]:
        """Requests to anywhere but the server and the `also_allowed` origins (`data:` URLs
        never leave the browser)."""
        allowed = {urlsplit(url).netloc for url in (self.base_url, *also_allowed)}
        return [
            r.url
            for r in self.requests()
            if urlsplit(r.url).scheme != "data" and urlsplit(r.url).netloc not in allowed
        ]

    def graphql_posts(self) -> list[Request]:
        path = f"{self.base_url}/graphql"
        return [r for r in self.requests() if r.method == "POST" and r.url == path]

    def refresh_cookie(self) -> dict[str, Any] | None:
        """The refresh-token cookie as the browser keeps it for /auth (the page's own path,
        /graphql, never sees it)."""
        cookies = self.driver.execute_cdp_cmd(
            "Network.getCookies", {"urls": [f"{self.base_url}/auth/refresh"]}
        )["cookies"]
        return next((c for c in cookies if c["name"] == "clientgraph_refresh"), None)

    def console_errors(self) -> list[str]:
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]


async def in_browser(work: Callable[[], T]) -> T:
    return await asyncio.to_thread(work)


@pytest.fixture
async def browser(browser_installed: None) -> AsyncIterator[WebDriver]:
    driver = await in_browser(_start_chromium)
    try:
        yield driver
    finally:
        await in_browser(driver.quit)


async def give_password(db: Database, firm_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """Set the user's password directly (setup, not the point); their e-mail."""

    async def work(session: Any) -> str:
        user = await session.get_one(models.User, user_id)
        user.password_hash = passwords.hash_sync(PASSWORD)
        return str(user.email)

    return await db.write(work, firm_id=firm_id)


@dataclass
class Staff:
    email: str
    firm_name: str
    account_name: str


@pytest.fixture
async def staff(api: Api) -> Staff:
    """The owner of a new firm with one account, and a password."""
    account_name = f"Havnens Marina {uuid.uuid4().hex[:6]}"
    await api.create_account(account_name)
    email = await give_password(api.db, api.firm_id, api.user_id)
    firm_name = (await api.data("{ viewer { firm { name } } }"))["viewer"]["firm"]["name"]
    return Staff(email=email, firm_name=firm_name, account_name=account_name)


class HeldRefreshes:
    """Passes requests to the app, counting each POST /auth/refresh as it arrives and, while
    held, keeping it waiting before the app sees it."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None
        self.arrived = 0
        self.statuses: list[int] = []
        self._open = asyncio.Event()
        self._open.set()

    def around(self, app: ASGIApp) -> ASGIApp:
        self.app = app
        return self

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        if scope["type"] != "http" or scope["path"] != "/auth/refresh":
            await self.app(scope, receive, send)
            return
        self.arrived += 1
        await self._open.wait()

        async def noted(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.statuses.append(message["status"])
            await send(message)

        await self.app(scope, receive, noted)


@contextlib.asynccontextmanager
async def page(
    browser: WebDriver,
    db: Database,
    around: Callable[[ASGIApp], ASGIApp] = lambda app: app,
    **settings: Any,
) -> AsyncIterator[GraphiQL]:
    """A real server on `db` (with `settings`, its app wrapped by `around`) and the browser
    on its GraphiQL page."""
    async with serve(around(create_app(settings_for(db.url, **settings), db))) as port:
        graphiql = GraphiQL(browser, f"http://127.0.0.1:{port}")
        await in_browser(graphiql.open)
        yield graphiql


async def test_support_staff_sign_in_run_a_query_and_read_the_result(
    browser: WebDriver, database: Database, staff: Staff
) -> None:
    async with page(browser, database) as graphiql:
        await in_browser(lambda: graphiql.sign_in(staff.email, PASSWORD))
        await in_browser(graphiql.wait_for_graphiql)
        result = await in_browser(lambda: graphiql.run(ACCOUNTS_QUERY))

        assert result["data"]["accounts"] == {
            "totalCount": 1,
            "nodes": [{"name": staff.account_name}],
        }
        assert staff.firm_name in await in_browser(lambda: graphiql.text("signed-in-as"))
        assert await in_browser(graphiql.foreign_requests) == []
        assert await in_browser(graphiql.console_errors) == []


async def test_graphiql_loads_the_schema_by_itself_with_the_token(
    browser: WebDriver, database: Database, staff: Staff
) -> None:
    async with page(browser, database) as graphiql:
        await in_browser(lambda: graphiql.sign_in(staff.email, PASSWORD))
        await in_browser(graphiql.wait_for_graphiql)
        documentation = await in_browser(graphiql.show_schema_documentation)

        assert "accounts" in documentation and "viewer" in documentation
        posts = await in_browser(graphiql.graphql_posts)
        assert any("__schema" in post.body for post in posts)
        assert all(post.headers.get("authorization", "").startswith("Bearer ") for post in posts)
        assert {post.status for post in posts} == {200}
        assert await in_browser(graphiql.foreign_requests) == []


async def test_a_wrong_password_is_told_plainly_and_nothing_fails_to_parse(
    browser: WebDriver, database: Database, staff: Staff
) -> None:
    async with page(browser, database) as graphiql:
        await in_browser(lambda: graphiql.sign_in(staff.email, "not the password at all"))
        error = await in_browser(graphiql.sign_in_error)
        body = await in_browser(lambda: graphiql.text("sign-in"))

        assert error == "Wrong e-mail or password."
        assert "JSON" not in body
        assert not await in_browser(lambda: graphiql.shown("graphiql"))
        assert await in_browser(graphiql.graphql_posts) == []


async def test_an_email_in_two_firms_chooses_its_firm_before_signing_in(
    browser: WebDriver, database: Database, staff: Staff
) -> None:
    other_name = f"Second Firm {uuid.uuid4().hex[:6]}"
    other_firm, other_user = await create_firm(
        database, name=other_name, admin_email=staff.email, admin_name="Same Person"
    )
    await give_password(database, other_firm, other_user)

    async with page(browser, database) as graphiql:
        await in_browser(lambda: graphiql.sign_in(staff.email, PASSWORD))
        error = await in_browser(graphiql.sign_in_error)
        firms = await in_browser(
            lambda: [
                option.text
                for option in graphiql.driver.find_elements(By.CSS_SELECTOR, "#firm option")
            ]
        )

        assert "several firms" in error
        assert sorted(firms) == sorted([staff.firm_name, other_name])

        def choose_the_second_firm() -> None:
            graphiql.driver.find_element(
                By.XPATH, f"//select[@id='firm']/option[text()='{other_name}']"
            ).click()
            graphiql.driver.find_element(By.ID, "sign-in-submit").click()

        await in_browser(choose_the_second_firm)
        await in_browser(graphiql.wait_for_graphiql)
        result = await in_browser(lambda: graphiql.run(VIEWER_QUERY))

        assert result["data"]["viewer"] == {
            "user": {"email": staff.email},
            "firm": {"name": other_name},
        }


async def test_a_user_deactivated_while_signed_in_is_sent_back_to_the_form(
    browser: WebDriver, database: Database, api: Api
) -> None:
    user_id, _ = await api.staff("VIEW_ALL_ACCOUNTS", name="Leaving Soon")
    user_uuid = decode_id(user_id, "User")
    assert user_uuid is not None
    email = await give_password(database, api.firm_id, user_uuid)

    async with page(browser, database) as graphiql:
        await in_browser(lambda: graphiql.sign_in(email, PASSWORD))
        await in_browser(graphiql.wait_for_graphiql)
        assert (await in_browser(lambda: graphiql.run(VIEWER_QUERY)))["data"]["viewer"]
        await api.ok("updateUser", {"userId": user_id, "isActive": False})
        await in_browser(lambda: graphiql.submit(ACCOUNTS_QUERY))
        await in_browser(lambda: graphiql.wait(lambda _: graphiql.shown("email"), "the form"))
        notice = await in_browser(lambda: graphiql.text("sign-in-notice"))
        form = await in_browser(lambda: graphiql.text("sign-in"))

        assert notice == "Your session has ended; please sign in again."
        assert "JSON" not in form
        assert not await in_browser(lambda: graphiql.shown("graphiql"))
        refreshes = [r for r in await in_browser(graphiql.requests) if "/auth/refresh" in r.url]
        assert [r.status for r in refreshes] == [401]


async def test_too_many_failed_sign_ins_say_when_to_try_again(
    browser: WebDriver, database: Database, staff: Staff
) -> None:
    async with page(browser, database, sign_in_attempts=2) as graphiql:
        for _ in range(2):
            await in_browser(lambda: graphiql.sign_in(staff.email, "a wrong password"))
            assert await in_browser(graphiql.sign_in_error) == "Wrong e-mail or password."
            await in_browser(
                lambda: graphiql.driver.execute_script(
                    "document.getElementById('sign-in-error').textContent = ''"
                )
            )
        await in_browser(lambda: graphiql.sign_in(staff.email, PASSWORD))
        error = await in_browser(graphiql.sign_in_error)

        assert error.startswith("Too many failed sign-ins. Try again in ")
        assert "minutes" in error
        assert not await in_browser(lambda: graphiql.shown("graphiql"))


async def test_the_access_token_is_renewed_before_it_expires(
    browser: WebDriver, database: Database, staff: Staff
) -> None:
    lifetime_s = 3
    async with page(browser, database, access_token_ttl_s=lifetime_s) as graphiql:
        await in_browser(lambda: graphiql.sign_in(staff.email, PASSWORD))
        await in_browser(graphiql.wait_for_graphiql)
        await asyncio.sleep(2 * lifetime_s + 1)
        result = await in_browser(lambda: graphiql.run(ACCOUNTS_QUERY))

        assert result["data"]["accounts"]["totalCount"] == 1
        requests = await in_browser(graphiql.requests)
        refreshes = [r for r in requests if r.url.endswith("/auth/refresh")]
        assert len(refreshes) >= 2
        assert {r.status for r in refreshes} == {200}
        assert all(json.loads(r.body or "{}") == {} for r in refreshes)
        assert 401 not in {post.status for post in await in_browser(graphiql.graphql_posts)}


async def test_the_token_is_kept_from_cookies_and_storage_and_a_reload_stays_signed_in(
    browser: WebDriver, database: Database, staff: Staff
) -> None:
    async with page(browser, database) as graphiql:
        await in_browser(lambda: graphiql.sign_in(staff.email, PASSWORD))
        await in_browser(graphiql.wait_for_graphiql)
        await in_browser(lambda: graphiql.run(VIEWER_QUERY))
        await in_browser(graphiql.driver.refresh)
        await in_browser(graphiql.wait_for_graphiql)
        result = await in_browser(lambda: graphiql.run(ACCOUNTS_QUERY))

        assert result["data"]["accounts"]["totalCount"] == 1
        tokens = {
            post.headers["authorization"].removeprefix("Bearer ")
            for post in await in_browser(graphiql.graphql_posts)
        }
        stored = await in_browser(
            lambda: graphiql.driver.execute_script(
                "return [document.cookie, JSON.stringify(localStorage),"
                " JSON.stringify(sessionStorage)].join(' ')"
            )
        )
        assert len(tokens) == 2
        assert all(token not in stored for token in tokens)
        cookie = await in_browser(graphiql.refresh_cookie)
        assert cookie is not None
        assert (cookie["httpOnly"], cookie["secure"], cookie["path"]) == (True, True, "/auth")
        assert cookie["sameSite"] == "Strict"


REFRESH_LOCK = "clientgraph-auth-refresh"
"""The Web Lock the page's tabs take, one at a time, to renew their shared sign-in."""


def waits_for_the_refresh_lock(driver: WebDriver) -> bool:
    """Whether a tab of the page's origin has asked for the refresh lock and waits for it."""
    return bool(
        driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "navigator.locks.query().then("
            f"  state => done(state.pending.some(lock => lock.name === {REFRESH_LOCK!r})));"
        )
    )


async def test_two_tabs_renew_their_shared_sign_in_one_at_a_time(
    browser: WebDriver, database: Database, staff: Staff
) -> None:
    """Both tabs hold the same refresh cookie, and a refresh token presented twice ends the
    sign-in: while one tab's refresh is on its way, the other's waits for it."""
    refreshes = HeldRefreshes()
    async with page(browser, database, around=refreshes.around) as graphiql:
        driver = graphiql.driver
        await in_browser(lambda: graphiql.sign_in(staff.email, PASSWORD))
        await in_browser(graphiql.wait_for_graphiql)
        first_tab = driver.current_window_handle

        def open_a_second_tab_that_was_signed_in() -> str:
            driver.switch_to.new_window("tab")
            graphiql.open()
            driver.execute_script("sessionStorage.setItem('clientgraph.graphiql.signedIn', '1')")
            return str(driver.current_window_handle)

        second_tab = await in_browser(open_a_second_tab_that_was_signed_in)
        refreshes.hold()
        try:
            await in_browser(driver.refresh)
            while refreshes.arrived < 1:
                await asyncio.sleep(0.05)
            await in_browser(lambda: driver.switch_to.window(first_tab))
            await in_browser(driver.refresh)
            await in_browser(
                lambda: graphiql.wait(
                    lambda _: waits_for_the_refresh_lock(driver),
                    "the first tab to wait for the second tab's refresh",
                )
            )

            assert refreshes.arrived == 1
        finally:
            refreshes.release()
        for tab in (first_tab, second_tab):
            await in_browser(lambda tab=tab: driver.switch_to.window(tab))
            await in_browser(graphiql.wait_for_graphiql)
            signed_in_as = await in_browser(lambda: graphiql.text("signed-in-as"))
            assert staff.email in signed_in_as
        assert refreshes.statuses == [200, 200]


async def test_signing_out_returns_to_the_form_and_a_reload_does_not_sign_in_again(
    browser: WebDriver, database: Database, staff: Staff
) -> None:
    async with page(browser, database) as graphiql:
        await in_browser(lambda: graphiql.sign_in(staff.email, PASSWORD))
        await in_browser(graphiql.wait_for_graphiql)
        await in_browser(lambda: graphiql.driver.find_element(By.ID, "sign-out").click())
        await in_browser(lambda: graphiql.wait(lambda _: graphiql.shown("email"), "the form"))
        notice = await in_browser(lambda: graphiql.text("sign-in-notice"))
        await in_browser(graphiql.driver.refresh)
        await in_browser(lambda: graphiql.wait(lambda _: graphiql.shown("email"), "the form"))

        assert notice == "You are signed out."
        assert not await in_browser(lambda: graphiql.shown("graphiql"))
        requests = await in_browser(graphiql.requests)
        assert [r.status for r in requests if r.url.endswith("/auth/logout")] == [204]
        assert await in_browser(graphiql.refresh_cookie) is None


# --- signing in at the identity provider (CLIENTGRAPH_OIDC_CLIENT_ID) ------------------------


def provider_settings(provider: LoginProvider) -> dict[str, Any]:
    return {
        "oidc_issuer": provider.issuer,
        "oidc_audience": CLIENT_ID,
        "oidc_client_id": CLIENT_ID,
        "oidc_leeway_s": 0,
    }


def click_provider_sign_in(graphiql: GraphiQL) -> None:
    graphiql.wait(lambda _: graphiql.shown("provider-sign-in-button"), "the provider's button")
    graphiql.driver.find_element(By.ID, "provider-sign-in-button").click()


async def test_support_staff_sign_in_at_the_identity_provider_and_run_a_query(
    browser: WebDriver, database: Database, staff: Staff
) -> None:
    with serve_login_provider(staff.email) as provider:
        async with page(browser, database, **provider_settings(provider)) as graphiql:
            await in_browser(lambda: click_provider_sign_in(graphiql))
            await in_browser(graphiql.wait_for_graphiql)
            result = await in_browser(lambda: graphiql.run(ACCOUNTS_QUERY))
            address = await in_browser(lambda: graphiql.driver.current_url)

            assert result["data"]["accounts"]["nodes"] == [{"name": staff.account_name}]
            assert address == f"{graphiql.base_url}/graphql"
            [authorization] = provider.authorizations
            assert authorization["redirect_uri"] == f"{graphiql.base_url}/graphql"
            assert authorization["code_challenge_method"] == "S256"
            assert [r["grant_type"] for r in provider.token_requests] == ["authorization_code"]
            posts = await in_browser(graphiql.graphql_posts)
            issuers = {
                jwt.decode(
                    post.headers["authorization"].removeprefix("Bearer "),
                    options={"verify_signature": False},
                )["iss"]
                for post in posts
            }
            assert issuers == {provider.issuer}
            assert await in_browser(lambda: graphiql.foreign_requests(provider.issuer)) == []
            assert await in_browser(graphiql.console_errors) == []


async def test_a_sign_in_the_identity_provider_refuses_is_told_on_the_form(
    browser: WebDriver, database: Database, staff: Staff
) -> None:
    with serve_login_provider(None) as provider:
        async with page(browser, database, **provider_settings(provider)) as graphiql:
            await in_browser(lambda: click_provider_sign_in(graphiql))
            error = await in_browser(graphiql.sign_in_error)

            assert error == "The identity provider refused the sign-in: The person said no."
            assert not await in_browser(lambda: graphiql.shown("graphiql"))
            assert provider.token_requests == []
            assert await in_browser(graphiql.graphql_posts) == []


async def test_an_identity_provider_answer_not_begun_here_is_refused(
    browser: WebDriver, database: Database, staff: Staff
) -> None:
    """A code slipped into the page's address (login CSRF) is never exchanged."""
    with serve_login_provider(staff.email) as provider:
        async with page(browser, database, **provider_settings(provider)) as graphiql:
            await in_browser(
                lambda: graphiql.driver.get(f"{graphiql.base_url}/graphql?code=abc&state=forged")
            )
            error = await in_browser(graphiql.sign_in_error)

            assert error == "This answer of the identity provider is not for a sign-in begun here."
            assert provider.token_requests == []
            assert not await in_browser(lambda: graphiql.shown("graphiql"))


async def test_the_identity_providers_token_is_renewed_before_it_expires(
    browser: WebDriver, database: Database, staff: Staff
) -> None:
    lifetime_s = 4
    with serve_login_provider(
        staff.email, token_lifetime_s=lifetime_s, gives_refresh_tokens=True
    ) as provider:
        async with page(browser, database, **provider_settings(provider)) as graphiql:
            await in_browser(lambda: click_provider_sign_in(graphiql))
            await in_browser(graphiql.wait_for_graphiql)
            await asyncio.sleep(2 * lifetime_s + 1)
            result = await in_browser(lambda: graphiql.run(ACCOUNTS_QUERY))

            assert result["data"]["accounts"]["totalCount"] == 1
            grants = [r["grant_type"] for r in provider.token_requests]
            assert grants[0] == "authorization_code"
            assert grants.count("refresh_token") >= 2
            posts = await in_browser(graphiql.graphql_posts)
            assert 401 not in {post.status for post in posts}


async def test_a_subscription_in_graphiql_shows_a_change_as_it_happens(
    browser: WebDriver, database: Database, staff: Staff, api: Api
) -> None:
    async with page(browser, database) as graphiql:
        await in_browser(lambda: graphiql.sign_in(staff.email, PASSWORD))
        await in_browser(graphiql.wait_for_graphiql)
        await in_browser(lambda: graphiql.submit(SUBSCRIPTION))

        async def a_new_account() -> str:
            name = f"Live {uuid.uuid4().hex[:6]}"
            await api.create_account(name)
            return name

        async with asyncio.timeout(WAIT_S):
            while True:
                name = await a_new_account()
                if name in await in_browser(graphiql.result_text):
                    break
                await asyncio.sleep(0.5)

        assert await in_browser(graphiql.console_errors) == []
