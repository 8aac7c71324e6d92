"""The pages the e-mailed links open, hosted by the service itself: `GET /set-password` (a staff
user chooses a password, then goes on to GraphiQL signed in), `GET /portal/accept` (a client
accepts a portal invitation by choosing a password) and `GET /portal` (a client signs in and
sees the accounts they may see).

Built like GraphiQL's page: fixed HTML with the scripts and stylesheet of static/pages/,
served by the service with a digest in their URLs, and a Content-Security-Policy that lets
the page load and call nothing but the service. The scripts read the link's token from the
page's address and post it to the endpoints (`/auth/set-password`, `/portal/accept`,
`/portal/login`, `/graphql`); the words for what went wrong are the server's."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from clientgraph import links, passwords
from clientgraph.web.assets import PAGE_HEADERS, SHARED_SCRIPTS, FingerprintedAssets
from clientgraph.web.graphiql import SIGNED_IN_FLAG
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route

STATIC_DIR = Path(__file__).parent / "static" / "pages"
ASSETS_PATH = "/pages"
GRAPHIQL_PATH = "/graphql"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
"""Nothing but the service: no inline script or style, no other host. The forms are sent by
the scripts, never by the browser (`form-action 'none'`)."""

LAYOUT = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>clientgraph · {title}</title>
<link rel="icon" href="{icon}">
<link rel="stylesheet" href="{stylesheet}">
</head>
<body{data}>
<main>
<h1>{title}</h1>
{content}
</main>
{scripts}
</body>
</html>
"""

NEW_PASSWORD_FORM = """<form id="password-form" novalidate hidden>
  <label for="password">New password</label>
  <input id="password" name="password" type="password" autocomplete="new-password"
    minlength="{min_length}" maxlength="{max_length}" required aria-describedby="rule">
  <label for="password-again">The same again</label>
  <input id="password-again" name="password-again" type="password" autocomplete="new-password"
    minlength="{min_length}" maxlength="{max_length}" required>
  <p id="rule">{rule}</p>
  <button type="submit" id="submit">{action}</button>
</form>
<p id="outcome" role="status"></p>
<p id="next" hidden><a id="next-link" href="{next_path}">{next_text}</a></p>
"""

ACCEPT = (
    """<p>A firm invites you to its client portal, where you see the accounts you are
linked to. To accept, choose the password you will sign in with, with the e-mail address the
invitation was sent to.</p>
"""
    + NEW_PASSWORD_FORM
)

PORTAL = """<section id="sign-in" hidden>
<form id="sign-in-form" novalidate>
  <p id="sign-in-notice" role="status"></p>
  <label for="email">E-mail</label>
  <input id="email" name="email" type="email" autocomplete="username" required>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <div id="firm-choice" hidden>
    <label for="firm">Firm</label>
    <select id="firm" name="firm"></select>
  </div>
  <p id="sign-in-error" role="alert"></p>
  <button type="submit" id="sign-in-submit">Sign in</button>
</form>
</section>
<section id="portal" hidden>
  <p class="bar"><span id="signed-in-as"></span>
    <button type="button" id="sign-out">Sign out</button></p>
  <h2>Your accounts</h2>
  <p id="portal-error" role="alert"></p>
  <p id="no-accounts" hidden>No accounts are shared with you.</p>
  <ul id="accounts"></ul>
</section>
"""


def password_rule() -> str:
    """The rule the pages show, from the constants the server checks."""
    return f"At least {passwords.MIN_LENGTH} characters, at most {passwords.MAX_LENGTH}."


@dataclass(frozen=True, slots=True)
class Page:
    title: str
    content: str
    script: str
    data: dict[str, str]

    def render(self, assets: FingerprintedAssets) -> str:
        names = (*SHARED_SCRIPTS, "common.js", self.script)
        scripts = [assets.url(name) for name in names]
        return LAYOUT.format(
            title=html.escape(self.title),
            icon=assets.url("favicon.svg"),
            stylesheet=assets.url("pages.css"),
            data="".join(
                f' data-{name}="{html.escape(value, quote=True)}"'
                for name, value in self.data.items()
            ),
            content=self.content,
            scripts="\n".join(f'<script src="{url}"></script>' for url in scripts),
        )


def _new_password_form(action: str, next_path: str, next_text: str) -> dict[str, object]:
    return {
        "min_length": passwords.MIN_LENGTH,
        "max_length": passwords.MAX_LENGTH,
        "rule": html.escape(password_rule()),
        "action": action,
        "next_path": next_path,
        "next_text": next_text,
    }


PORTAL_PAGE_PATH = links.PORTAL_PATH


def set_password_page() -> Page:
    return Page(
        title="Choose your password",
        content=NEW_PASSWORD_FORM.format(
            **_new_password_form("Set password", GRAPHIQL_PATH, "Sign in to GraphiQL")
        ),
        script="set-password.js",
        data={
            "endpoint": "/auth/set-password",
            "graphiql-path": GRAPHIQL_PATH,
            "signed-in-flag": SIGNED_IN_FLAG,
        },
    )


def accept_page() -> Page:
    return Page(
        title="Your invitation to the client portal",
        content=ACCEPT.format(
            **_new_password_form("Accept the invitation", PORTAL_PAGE_PATH, "Sign in to the portal")
        ),
        script="portal-accept.js",
        data={"endpoint": "/portal/accept", "portal-path": PORTAL_PAGE_PATH},
    )


PORTAL_PAGE = Page(
    title="Client portal",
    content=PORTAL,
    script="portal.js",
    data={"login-endpoint": "/portal/login", "graphql-path": GRAPHIQL_PATH},
)


class LinkPages:
    """The three pages and their files (under /pages/), written when the app is made."""

    def __init__(self) -> None:
        self.assets = FingerprintedAssets(STATIC_DIR, ASSETS_PATH)

    def routes(self) -> list[BaseRoute]:
        accept_path = PORTAL_PAGE_PATH + links.PORTAL_ACCEPT_PATH
        return [
            Route(links.SET_PASSWORD_PATH, self.endpoint(set_password_page()), methods=["GET"]),
            Route(accept_path, self.endpoint(accept_page()), methods=["GET"]),
            Route(PORTAL_PAGE_PATH, self.endpoint(PORTAL_PAGE), methods=["GET"]),
            Mount(ASSETS_PATH, self.assets, name="pages"),
        ]

    def endpoint(self, page: Page) -> Callable[[Request], Awaitable[Response]]:
        text = page.render(self.assets)
        headers = {**PAGE_HEADERS, "Content-Security-Policy": CONTENT_SECURITY_POLICY}

        async def respond(_: Request) -> Response:
            return HTMLResponse(text, headers=headers)

        return respond
