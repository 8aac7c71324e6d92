"""The pages the e-mailed links open (issue 13, point 2), over HTTP: `GET /set-password`,
`GET /portal/accept` and `GET /portal` load nothing but the service's own fingerprinted files
under a Content-Security-Policy of the service alone, show the password rule the server
checks, and the endpoints they post to say in plain words, with a code, why a link does not
work. tests/test_link_pages_browser.py drives the pages in a real browser."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from clientgraph import passwords
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.ids import decode_id

from tests.portal_support import accept, queued_tokens
from tests.support import Api, expire_every, new_contact, new_firm
from tests.test_portal_sign_in import unique_email
from tests.test_set_password import NEW_PASSWORD, new_user, newest_link_token, set_password
from tests.test_sign_in import PASSWORD, error_of, give_password, login, refresh_with

PAGES = ["/set-password?token=abc.def", "/portal/accept?token=abc.def", "/portal"]
PASSWORD_PAGES = PAGES[:2]
LOADED = re.compile(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="([^"]*)"')
"""What a page makes the browser load (its links to other pages are not loaded)."""
SHORT = "eleven char"


def _policy(response: httpx.Response) -> dict[str, str]:
    return dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["content-security-policy"].split(";")
    )


# --- the pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
async def test_each_page_loads_only_fingerprinted_files_of_the_service(api: Api, path: str) -> None:
    page = await api.http.get(path)
    references = LOADED.findall(page.text)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert references
    for url in references:
        assert re.fullmatch(r"/pages/[a-z-]+\.(js|css|svg)\?v=[0-9a-f]{16}", url), url
        asset = await api.http.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert asset.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", PAGES)
async def test_each_page_is_held_to_the_service_by_its_content_security_policy(
    api: Api, path: str
) -> None:
    page = await api.http.get(path)

    policy = _policy(page)
    assert policy["default-src"] == "'none'"
    assert {policy[name] for name in ("script-src", "style-src", "img-src", "connect-src")} == {
        "'self'"
    }
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in page.headers["content-security-policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\bstyle=|\bon[a-z]+=", page.text)
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"


async def test_an_asset_without_its_fingerprint_is_revalidated(api: Api) -> None:
    response = await api.http.get("/pages/set-password.js")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("path", ["/pages/../pages.py", "/pages/%2e%2e/app.py", "/pages/x.js"])
async def test_nothing_but_the_pages_files_is_served(api: Api, path: str) -> None:
    response = await api.http.get(path)

    assert response.status_code == 404


@pytest.mark.parametrize("path", PASSWORD_PAGES)
async def test_the_password_pages_show_the_rule_the_server_checks(
    database: Database, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.setattr(passwords, "MIN_LENGTH", 20)
    async with new_firm(database) as api:
        page = await api.http.get(path)
        _, email = await new_user(api)
        refused = await set_password(api.http, await newest_link_token(api, email), "x" * 19)

    assert "At least 20 characters, at most 256." in page.text
    assert page.text.count('minlength="20"') == 2
    assert error_of(refused)["extensions"]["reason"] == "TOO_SHORT"


# --- set-password: what each outcome says -------------------------------------------------------


async def _used_link(api: Api) -> str:
    _, email = await new_user(api)
    token = await newest_link_token(api, email)
    assert (await set_password(api.http, token, NEW_PASSWORD)).status_code == 204
    return token


async def _replaced_link(api: Api) -> str:
    user_id, email = await new_user(api)
    token = await newest_link_token(api, email)
    await api.ok("resetUserPassword", {"userId": user_id}, "user { id }")
    return token


async def _link_of_a_password_changed_since(api: Api) -> str:
    user_id, email = await new_user(api)
    token = await newest_link_token(api, email)
    user_uuid = decode_id(user_id, "User")
    assert user_uuid is not None
    await give_password(api.db, api.firm_id, user_uuid, PASSWORD)
    access = (await login(api.http, email, PASSWORD)).json()["accessToken"]
    await api.ok(
        "changePassword",
        {"currentPassword": PASSWORD, "newPassword": "a third long passphrase"},
        "user { id }",
        token=access,
    )
    return token


async def _expired_link(api: Api) -> str:
    _, email = await new_user(api)
    token = await newest_link_token(api, email)
    await expire_every(api, models.PasswordToken)
    return token


async def _forged_link(api: Api) -> str:
    _, email = await new_user(api)
    link_id, _, mac = (await newest_link_token(api, email)).partition(".")
    return f"{link_id}.{mac[::-1]}"


async def _link_of_a_deactivated_user(api: Api) -> str:
    user_id, email = await new_user(api)
    token = await newest_link_token(api, email)
    await api.ok("updateUser", {"userId": user_id, "isActive": False})
    return token


LINK_OUTCOMES = {
    "USED": (_used_link, "already used"),
    "REPLACED": (_replaced_link, "replaced by a newer one"),
    "PASSWORD_SET": (_link_of_a_password_changed_since, "your password was set since"),
    "EXPIRED": (_expired_link, "has expired"),
    "UNKNOWN": (_forged_link, "not valid"),
    "USER_INACTIVE": (_link_of_a_deactivated_user, "can no longer sign in"),
}


@pytest.mark.parametrize("state", list(LINK_OUTCOMES))
async def test_a_link_that_does_not_work_says_why(api: Api, state: str) -> None:
    make_link, words = LINK_OUTCOMES[state]
    token = await make_link(api)

    response = await set_password(api.http, token, "yet another long passphrase")

    error = error_of(response)
    assert response.status_code == 400
    assert error["extensions"] == {"code": "BAD_REQUEST", "reason": "INVALID_LINK", "link": state}
    assert words in error["message"]


async def test_a_password_too_short_says_the_rule_and_the_link_stays_good(api: Api) -> None:
    _, email = await new_user(api)
    token = await newest_link_token(api, email)

    response = await set_password(api.http, token, SHORT)

    assert error_of(response)["message"] == "A password needs at least 12 characters."
    assert (await set_password(api.http, token, NEW_PASSWORD)).status_code == 204


async def test_a_link_that_does_not_work_is_told_before_the_password_rule(api: Api) -> None:
    token = await _expired_link(api)

    response = await set_password(api.http, token, SHORT)

    assert error_of(response)["extensions"]["link"] == "EXPIRED"


async def test_setting_a_password_with_sign_in_answers_a_sign_in(api: Api) -> None:
    _, email = await new_user(api)
    token = await newest_link_token(api, email)

    response = await api.http.post(
        "/auth/set-password", json={"token": token, "password": NEW_PASSWORD, "signIn": True}
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"accessToken", "expiresIn", "refreshToken"}
    assert response.headers["set-cookie"].startswith(f"clientgraph_refresh={body['refreshToken']};")
    viewer = await api.data("{ viewer { user { email } } }", token=body["accessToken"])
    assert viewer["viewer"]["user"]["email"] == email
    assert (await refresh_with(api.http, body["refreshToken"])).status_code == 200


@pytest.mark.parametrize("sign_in", ["yes", 1, None])
async def test_sign_in_must_be_true_or_false(api: Api, sign_in: Any) -> None:
    _, email = await new_user(api)
    token = await newest_link_token(api, email)

    response = await api.http.post(
        "/auth/set-password", json={"token": token, "password": NEW_PASSWORD, "signIn": sign_in}
    )

    assert response.status_code == 400
    assert error_of(response)["message"] == "`signIn` must be true or false."
    assert (await set_password(api.http, token, NEW_PASSWORD)).status_code == 204


# --- the portal invitation: what each outcome says ----------------------------------------------


async def _invitation(api: Api) -> tuple[str, str]:
    """(contact id, the token of a new invitation)."""
    contact_id = await new_contact(api, first="Mette", email=unique_email("mette"))
    await api.ok("inviteContact", {"contactId": contact_id})
    [token] = await queued_tokens(api, contact_id)
    return contact_id, token


async def _accepted_invitation(api: Api) -> str:
    _, token = await _invitation(api)
    assert (await accept(api, token)).status_code == 204
    return token


async def _replaced_invitation(api: Api) -> str:
    contact_id, token = await _invitation(api)
    await api.ok("inviteContact", {"contactId": contact_id})
    return token


async def _expired_invitation(api: Api) -> str:
    _, token = await _invitation(api)
    await expire_every(api, models.PortalInvitation)
    return token


async def _unknown_invitation(api: Api) -> str:
    return f"{uuid.uuid4().hex}.not-a-secret"


INVITATION_OUTCOMES = {
    "TOKEN_USED": (_accepted_invitation, "already accepted"),
    "TOKEN_VOIDED": (_replaced_invitation, "replaced by a newer one"),
    "TOKEN_EXPIRED": (_expired_invitation, "has expired"),
    "TOKEN_INVALID": (_unknown_invitation, "not valid"),
}


@pytest.mark.parametrize("reason", list(INVITATION_OUTCOMES))
async def test_an_invitation_that_does_not_work_says_why(api: Api, reason: str) -> None:
    make_token, words = INVITATION_OUTCOMES[reason]
    token = await make_token(api)

    response = await accept(api, token, "yet another long passphrase")

    error = error_of(response)
    assert response.status_code == 400
    assert error["extensions"] == {"code": "BAD_REQUEST", "reason": reason}
    assert words in error["message"]


async def test_an_invitation_that_does_not_work_is_told_before_the_password_rule(
    api: Api,
) -> None:
    token = await _expired_invitation(api)

    response = await accept(api, token, SHORT)

    assert error_of(response)["extensions"]["reason"] == "TOKEN_EXPIRED"


async def test_an_invitation_with_a_password_too_short_says_the_rule(api: Api) -> None:
    _, token = await _invitation(api)

    response = await accept(api, token, SHORT)

    assert error_of(response)["extensions"] == {"code": "BAD_REQUEST", "reason": "TOO_SHORT"}
    assert error_of(response)["message"] == "A password needs at least 12 characters."
    assert (await accept(api, token)).status_code == 204
