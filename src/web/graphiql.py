"""GraphiQL for support staff, served whole by the service: the page `GET /graphql` shows a
browser, and the vendored assets under `/graphiql/` (see static/graphiql/README.md). Nothing the
page loads comes from another host, so it works on a network that reaches only this service,
and its Content-Security-Policy holds it to that."""

from __future__ import annotations

import html
from pathlib import Path

from clientgraph.settings import Settings
from clientgraph.web.assets import PAGE_HEADERS, SHARED_SCRIPTS, FingerprintedAssets
from clientgraph.web.graphiql_oidc import ProviderDiscovery, ProviderLogin
from starlette.responses import HTMLResponse, Response

STATIC_DIR = Path(__file__).parent / "static" / "graphiql"
ASSETS_PATH = "/graphiql"
SIGNED_IN_FLAG = "clientgraph.graphiql.signedIn"
"""The sessionStorage entry saying this tab is signed in (never a token): the page then renews
its access token with the refresh cookie instead of asking for the password. A page that signs
the user in for GraphiQL (the set-password page) sets it before opening GraphiQL."""
SCRIPTS = (
    *SHARED_SCRIPTS,
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "explorer.js",
)
STYLES = ("graphiql.min.css", "explorer.css")


def content_security_policy(other_origins: tuple[str, ...] = ()) -> str:
    """Everything from 'self'; `other_origins` (the identity provider's token endpoint, when
    the page signs in there) may only be called by fetch."""
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            # GraphiQL's editors add <style> elements of their own; scripts stay 'self' only.
            "style-src 'self' 'unsafe-inline'",
            # GraphiQL's stylesheet carries its fonts (Roboto, Fira Code) inline as data: URLs.
            "font-src 'self' data:",
            "img-src 'self' data:",
            " ".join(("connect-src 'self'", *other_origins)),
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>clientgraph · GraphiQL</title>
<link rel="icon" href="data:,">
{styles}
</head>
<body data-graphql-path="{graphql_path}" data-signed-in-flag="{signed_in_flag}"{provider}>
<header id="bar" hidden>
  <strong>clientgraph</strong>
  <span id="signed-in-as"></span>
  <button type="button" id="sign-out">Sign out</button>
</header>
<main id="sign-in" hidden>
  <form id="sign-in-form" novalidate>
    <h1>Sign in to clientgraph</h1>
    <p id="sign-in-notice" role="status"></p>
    <div id="provider-sign-in" hidden>
      <button type="button" id="provider-sign-in-button">
        Sign in with your identity provider</button>
      <p>or with your e-mail and password:</p>
    </div>
    <label>E-mail <input id="email" name="email" type="email" autocomplete="username" required>
    </label>
    <label>Password <input id="password" name="password" type="password"
      autocomplete="current-password" required></label>
    <label id="firm-choice" hidden>Firm <select id="firm" name="firm"></select></label>
    <p id="sign-in-error" role="alert"></p>
    <button type="submit" id="sign-in-submit">Sign in</button>
  </form>
</main>
<div id="graphiql" hidden></div>
{scripts}
</body>
</html>
"""


class GraphiQLAssets(FingerprintedAssets):
    """The vendored files (see static/graphiql/README.md) and explorer.js."""

    def __init__(self) -> None:
        super().__init__(STATIC_DIR, ASSETS_PATH)


class GraphiQLPage:
    """The page: a sign-in form, then GraphiQL (static/graphiql/explorer.js does both). With
    `CLIENTGRAPH_OIDC_CLIENT_ID` the form offers the identity provider too."""

    def __init__(self, settings: Settings, graphql_path: str = "/graphql") -> None:
        self.discovery = ProviderDiscovery.configured(settings)
        assets = GraphiQLAssets()
        self.styles = "\n".join(f'<link rel="stylesheet" href="{assets.url(n)}">' for n in STYLES)
        self.scripts = "\n".join(f'<script src="{assets.url(n)}"></script>' for n in SCRIPTS)
        self.graphql_path = graphql_path

    async def response(self) -> Response:
        login = await self.discovery.login() if self.discovery is not None else None
        page = PAGE.format(
            styles=self.styles,
            scripts=self.scripts,
            graphql_path=html.escape(self.graphql_path, quote=True),
            signed_in_flag=SIGNED_IN_FLAG,
            provider=_provider_attributes(login) if login is not None else "",
        )
        policy = content_security_policy((login.token_origin,) if login is not None else ())
        return HTMLResponse(page, headers={**PAGE_HEADERS, "Content-Security-Policy": policy})


def _provider_attributes(login: ProviderLogin) -> str:
    attributes = {
        "data-oidc-authorization-endpoint": login.authorization_endpoint,
        "data-oidc-token-endpoint": login.token_endpoint,
        "data-oidc-client-id": login.client_id,
        "data-oidc-audience": login.audience,
    }
    return "".join(
        f' {name}="{html.escape(value, quote=True)}"' for name, value in attributes.items()
    )
