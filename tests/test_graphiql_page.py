"""GraphiQL's page and assets over HTTP (API.md §3, issue 9 point 4): everything the page loads
is served by the service itself, under a Content-Security-Policy that allows nothing else.
tests/test_graphiql_browser.py drives the page in a real browser."""

from __future__ import annotations

import re

import httpx
import pytest
from clientgraph.db.engine import Database
from clientgraph.settings import Settings
from clientgraph.web.graphiql import STATIC_DIR
from pydantic import ValidationError

from tests.oidc_login_provider import CLIENT_ID, serve_login_provider
from tests.support import Api, new_firm, settings_for

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
REFERENCE = re.compile(r'\b(?:src|href)="([^"]*)"')


async def _page_references(api: Api) -> list[str]:
    response = await api.http.get("/graphql", headers=BROWSER)
    assert response.status_code == 200
    return REFERENCE.findall(response.text)


async def test_the_page_loads_nothing_from_another_host(api: Api) -> None:
    references = await _page_references(api)

    assert references
    assert [url for url in references if url.startswith("/graphiql/")] == [
        url for url in references if url != "data:,"
    ]
    assert "unpkg" not in (await api.http.get("/graphql", headers=BROWSER)).text


async def test_every_asset_the_page_links_is_served_and_cached_for_a_year(api: Api) -> None:
    for url in await _page_references(api):
        if url == "data:,":
            continue
        response = await api.http.get(url)

        assert response.status_code == 200, url
        assert response.content, url
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
        expected_type = "text/css" if url.split("?")[0].endswith(".css") else "javascript"
        assert expected_type in response.headers["content-type"], url


async def test_an_asset_asked_for_without_its_fingerprint_is_revalidated(api: Api) -> None:
    unversioned = await api.http.get("/graphiql/graphiql.min.js")
    stale = await api.http.get("/graphiql/graphiql.min.js?v=0000000000000000")

    assert unversioned.status_code == stale.status_code == 200
    assert unversioned.headers["cache-control"] == stale.headers["cache-control"] == "no-cache"


def _policy(response: httpx.Response) -> dict[str, str]:
    return dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["content-security-policy"].split(";")
    )


async def test_the_page_is_held_to_its_own_origin_by_a_content_security_policy(
    api: Api,
) -> None:
    response = await api.http.get("/graphql", headers=BROWSER)

    policy = _policy(response)
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert response.headers["cache-control"] == "no-store"


async def test_the_page_asks_for_credentials_without_a_token(api: Api) -> None:
    response = await api.http.get("/graphql", headers=BROWSER)

    assert response.status_code == 200
    assert 'type="password"' in response.text
    assert 'id="email"' in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/graphiql/../graphql.py",
        "/graphiql/%2e%2e/graphql.py",
        "/graphiql/..%2fgraphiql.py",
        "/graphiql/nothing-here.js",
        "/graphiql/",
    ],
)
async def test_nothing_but_the_vendored_files_is_served(api: Api, path: str) -> None:
    response = await api.http.get(path)

    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "import" not in response.text


async def test_assets_cannot_be_written(api: Api) -> None:
    response = await api.http.post("/graphiql/explorer.js", content=b"alert(1)")

    assert response.status_code == 405
    assert b"alert(1)" not in (await api.http.get("/graphiql/explorer.js")).content


def test_the_vendored_assets_keep_their_licences() -> None:
    """That they ship in the wheel and the sdist is tests/test_install.py's to show."""
    licences = {path.name for path in STATIC_DIR.glob("LICENSE*")}

    assert licences == {"LICENSE.graphiql", "LICENSE.react", "LICENSE.react-dom"}


# --- the identity provider (CLIENTGRAPH_OIDC_CLIENT_ID) --------------------------------------


def _provider_settings(database: Database, issuer: str, **overrides: str) -> Settings:
    return settings_for(database.url, oidc_issuer=issuer, oidc_audience=CLIENT_ID, **overrides)


async def test_with_a_client_id_the_page_offers_the_provider_and_may_call_its_token_endpoint(
    database: Database,
) -> None:
    with serve_login_provider("someone@example.com") as provider:
        settings = _provider_settings(database, provider.issuer, oidc_client_id=CLIENT_ID)
        async with new_firm(database, settings=settings) as api:
            response = await api.http.get("/graphql", headers=BROWSER)

    assert f'data-oidc-authorization-endpoint="{provider.issuer}/authorize"' in response.text
    assert f'data-oidc-token-endpoint="{provider.issuer}/token"' in response.text
    assert f'data-oidc-client-id="{CLIENT_ID}"' in response.text
    assert _policy(response)["connect-src"] == f"'self' {provider.issuer}"
    assert _policy(response)["script-src"] == "'self'"


async def test_without_a_client_id_the_page_offers_no_identity_provider(
    database: Database,
) -> None:
    with serve_login_provider("someone@example.com") as provider:
        async with new_firm(
            database, settings=_provider_settings(database, provider.issuer)
        ) as api:
            response = await api.http.get("/graphql", headers=BROWSER)

    assert "data-oidc" not in response.text
    assert _policy(response)["connect-src"] == "'self'"


async def test_while_the_provider_cannot_be_reached_the_page_offers_passwords(
    database: Database,
) -> None:
    with serve_login_provider("someone@example.com") as provider:
        gone = provider.issuer
    settings = _provider_settings(database, gone, oidc_client_id=CLIENT_ID)

    async with new_firm(database, settings=settings) as api:
        response = await api.http.get("/graphql", headers=BROWSER)

    assert response.status_code == 200
    assert 'type="password"' in response.text
    assert "data-oidc" not in response.text
    assert _policy(response)["connect-src"] == "'self'"


def test_a_client_id_without_an_identity_provider_is_refused() -> None:
    with pytest.raises(ValidationError, match="CLIENTGRAPH_OIDC_CLIENT_ID needs"):
        Settings(oidc_client_id=CLIENT_ID)
