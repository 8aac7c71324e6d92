"""Setting a password (issue 9 point 1): the one-time link `createUser` and `resetUserPassword`
e-mail, `POST /auth/set-password`, `changePassword`, and `clientgraph set-password`; on SQLite
and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select as io_select
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiosmtpd.controller import Controller
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.ids import decode_id
from clientgraph.outbox import service
from clientgraph.outbox.emails import SET_PASSWORD_KIND
from clientgraph.outbox.render import Event, MailConfig, render
from clientgraph.settings import Settings
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support import APP_ROLE, SECRET, Api, expire_every, owner_url
from tests.test_sign_in import PASSWORD, error_of, give_password, login, refresh_with

APP_URL = "https://app.nordlys.example"
NEW_PASSWORD = "a brand new passphrase"
CLIENTGRAPH = str(Path(sys.executable).with_name("clientgraph"))


async def new_user(api: Api, role: str = "STAFF", token: str | None = None) -> tuple[str, str]:
    """A user made by `createUser`: (global id, e-mail)."""
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    payload = await api.ok(
        "createUser",
        {"name": "Nora Nyholm", "email": email, "role": role, "permissions": []},
        "user { id }",
        token=token,
    )
    return payload["user"]["id"], email


async def outbox_events(api: Api, email: str) -> list[models.OutboxEvent]:
    """The set-password e-mails queued for `email`, oldest first."""

    async def work(session: AsyncSession) -> list[models.OutboxEvent]:
        event = models.OutboxEvent
        return list(
            await session.scalars(
                select(event)
                .where(
                    event.firm_id == api.firm_id,
                    event.kind == SET_PASSWORD_KIND,
                    event.recipient == email,
                )
                .order_by(event.created_at)
            )
        )

    return await api.db.write(work, firm_id=api.firm_id)


def link_of(message: EmailMessage) -> str:
    [link] = [line for line in message.get_content().splitlines() if "/set-password?" in line]
    return link


def token_of(link: str) -> str:
    assert link.startswith(f"{APP_URL}/set-password?"), link
    return parse_qs(urlsplit(link).query)["token"][0]


async def newest_link_token(api: Api, email: str) -> str:
    """The token of the newest set-password e-mail to `email`, rendered as the relay would."""
    event = (await outbox_events(api, email))[-1]
    message = render(
        Event(event.id, event.kind, event.recipient, event.payload, event.created_at, "Firm"),
        MailConfig(
            sender="clientgraph@example.com", portal_url="", app_url=APP_URL, link_secret=SECRET
        ),
    )
    return token_of(link_of(message))


async def set_password(http: httpx.AsyncClient, token: str, password: str) -> httpx.Response:
    return await http.post("/auth/set-password", json={"token": token, "password": password})


# --- the e-mailed link -------------------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server (aiosmtpd): what it received, and its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def test_create_user_emails_a_link_that_sets_the_password_once(
    api: Api, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    _, email = await new_user(api)
    settings = Settings(
        database_url=owner_url(api.db),
        secret=SECRET,
        app_role=APP_ROLE,
        smtp_url=f"smtp://127.0.0.1:{port}",
        app_url=APP_URL,
    )

    await service.relay(settings, api.db).run_once()

    [message] = [m for m in inbox.messages if m["To"] == email]
    assert message["Subject"].endswith(": choose your password")
    assert message.get_content().startswith("Hello Nora Nyholm,")
    token = token_of(link_of(message))
    assert (await login(api.http, email, NEW_PASSWORD)).status_code == 401
    assert (await set_password(api.http, token, NEW_PASSWORD)).status_code == 204
    assert (await login(api.http, email, NEW_PASSWORD)).status_code == 200
    again = await set_password(api.http, token, "another new passphrase")
    assert again.status_code == 400
    assert error_of(again)["extensions"] == {
        "code": "BAD_REQUEST",
        "reason": "INVALID_LINK",
        "link": "USED",
    }


async def test_the_database_holds_nothing_that_opens_the_link(api: Api) -> None:
    _, email = await new_user(api)
    token = await newest_link_token(api, email)
    [event] = await outbox_events(api, email)

    async def links(session: AsyncSession) -> list[Any]:
        return list((await session.execute(select(models.PasswordToken.__table__))).all())

    rows = await api.db.write(links, firm_id=api.firm_id)

    secret_part = token.partition(".")[2]
    assert secret_part and secret_part not in json.dumps(event.payload)
    assert all(secret_part not in str(row) for row in rows)


async def test_the_link_works_within_72_hours(api: Api) -> None:
    _, email = await new_user(api)

    [event] = await outbox_events(api, email)
    link_id = uuid.UUID(event.payload["tokenId"])

    async def link(session: AsyncSession) -> models.PasswordToken:
        return await session.get_one(models.PasswordToken, link_id)

    row = await api.db.write(link, firm_id=api.firm_id)
    assert row.expires_at - row.created_at == pytest.approx(
        timedelta(hours=72), abs=timedelta(seconds=5)
    )


async def test_an_expired_link_is_refused(api: Api) -> None:
    _, email = await new_user(api)
    token = await newest_link_token(api, email)

    await expire_every(api, models.PasswordToken)

    response = await set_password(api.http, token, NEW_PASSWORD)

    assert response.status_code == 400
    assert error_of(response)["extensions"]["reason"] == "INVALID_LINK"
    assert (await login(api.http, email, NEW_PASSWORD)).status_code == 401


@pytest.mark.parametrize("forgery", ["other-mac", "other-id", "garbage", "long"])
async def test_a_forged_link_is_refused(api: Api, forgery: str) -> None:
    _, email = await new_user(api)
    token = await newest_link_token(api, email)
    link_id, _, mac = token.partition(".")
    forged = {
        "other-mac": f"{link_id}.{mac[::-1]}",
        "other-id": f"{uuid.uuid4().hex}.{mac}",
        "garbage": "not-a-link",
        "long": "a" * 5000,
    }[forgery]

    response = await set_password(api.http, forged, NEW_PASSWORD)

    assert response.status_code == 400
    assert error_of(response)["extensions"]["reason"] == "INVALID_LINK"
    assert (await set_password(api.http, token, NEW_PASSWORD)).status_code == 204


@pytest.mark.parametrize(
    ("password", "reason"), [("eleven char", "TOO_SHORT"), ("p" * 257, "TOO_LONG")]
)
async def test_a_password_too_short_or_too_long_is_refused_and_the_link_stays_good(
    api: Api, password: str, reason: str
) -> None:
    _, email = await new_user(api)
    token = await newest_link_token(api, email)

    response = await set_password(api.http, token, password)

    assert response.status_code == 400
    assert error_of(response)["extensions"] == {"code": "BAD_REQUEST", "reason": reason}
    assert (await set_password(api.http, token, "twelve chars")).status_code == 204


async def test_a_deactivated_users_link_is_refused(api: Api) -> None:
    user_id, email = await new_user(api)
    token = await newest_link_token(api, email)
    await api.ok("updateUser", {"userId": user_id, "isActive": False})

    response = await set_password(api.http, token, NEW_PASSWORD)

    assert response.status_code == 400


async def test_setting_a_password_through_a_link_ends_the_users_sign_ins(api: Api) -> None:
    user_id, email = await new_user(api)
    user_uuid = decode_id(user_id, "User")
    assert user_uuid is not None
    token = await newest_link_token(api, email)
    await give_password(api.db, api.firm_id, user_uuid, PASSWORD)
    refresh_token = (await login(api.http, email, PASSWORD)).json()["refreshToken"]

    assert (await set_password(api.http, token, NEW_PASSWORD)).status_code == 204

    assert (await refresh_with(api.http, refresh_token)).status_code == 401
    assert (await login(api.http, email, PASSWORD)).status_code == 401


# --- resetUserPassword -------------------------------------------------------------------------

RESET = "user { id email }"


async def test_reset_voids_the_old_link_and_password_and_emails_a_new_link(api: Api) -> None:
    user_id, email = await new_user(api)
    first_link = await newest_link_token(api, email)
    assert (await set_password(api.http, first_link, PASSWORD)).status_code == 204
    user_uuid = decode_id(user_id, "User")
    assert user_uuid is not None
    refresh_token = (await login(api.http, email, PASSWORD)).json()["refreshToken"]
    reset = await api.ok("resetUserPassword", {"userId": user_id}, RESET)
    assert reset["user"] == {"id": user_id, "email": email}
    stale_link = await newest_link_token(api, email)
    await api.ok("resetUserPassword", {"userId": user_id}, RESET)
    new_link = await newest_link_token(api, email)

    assert (await login(api.http, email, PASSWORD)).status_code == 401
    assert (await refresh_with(api.http, refresh_token)).status_code == 401
    assert len(await outbox_events(api, email)) == 3
    assert (await set_password(api.http, stale_link, NEW_PASSWORD)).status_code == 400
    assert (await set_password(api.http, new_link, NEW_PASSWORD)).status_code == 204
    assert (await login(api.http, email, NEW_PASSWORD)).status_code == 200


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


RESET_DOCUMENT = (
    "mutation($input: ResetUserPasswordInput!) { resetUserPassword(input: $input) "
    "{ user { id } userErrors { code } } }"
)


async def test_an_admin_cannot_reset_the_owners_password(api: Api) -> None:
    _, admin_token = await api.staff(role="ADMIN")
    owner_id = (await api.data("{ viewer { user { id } } }"))["viewer"]["user"]["id"]

    body = await api.execute(RESET_DOCUMENT, {"input": {"userId": owner_id}}, token=admin_token)

    assert codes(body) == ["FORBIDDEN"]


async def test_an_admin_may_reset_a_staff_users_password_and_an_owner_an_admins(
    api: Api,
) -> None:
    staff_id, _ = await new_user(api)
    admin_id, admin_token = await api.staff(role="ADMIN")

    by_admin = await api.execute(RESET_DOCUMENT, {"input": {"userId": staff_id}}, token=admin_token)
    by_owner = await api.execute(RESET_DOCUMENT, {"input": {"userId": admin_id}})

    assert by_admin["data"]["resetUserPassword"] == {"user": {"id": staff_id}, "userErrors": []}
    assert by_owner["data"]["resetUserPassword"] == {"user": {"id": admin_id}, "userErrors": []}


async def test_staff_and_api_keys_cannot_reset_a_password(api: Api) -> None:
    staff_id, _ = await new_user(api)
    _, staff_token = await api.staff(*EVERY_RIGHT)
    key = (await api.ok("createApiKey", {"name": "feed", "permissions": EVERY_RIGHT}, "key"))["key"]

    as_staff = await api.execute(RESET_DOCUMENT, {"input": {"userId": staff_id}}, token=staff_token)
    as_key = await api.execute(RESET_DOCUMENT, {"input": {"userId": staff_id}}, token=key)

    assert codes(as_staff) == codes(as_key) == ["FORBIDDEN"]


async def test_a_user_of_another_firm_is_not_found(api: Api, other_firm: Api) -> None:
    foreign_id, _ = await new_user(other_firm)

    payload = await api.mutate("resetUserPassword", {"userId": foreign_id})

    assert [error["code"] for error in payload["userErrors"]] == ["NOT_FOUND"]


async def test_an_admin_does_not_reset_their_own_password(api: Api) -> None:
    owner_id = (await api.data("{ viewer { user { id } } }"))["viewer"]["user"]["id"]

    payload = await api.mutate("resetUserPassword", {"userId": owner_id})

    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["userId"], "INVALID")]


async def test_a_deactivated_users_password_is_not_reset(api: Api) -> None:
    user_id, email = await new_user(api)
    await api.ok("updateUser", {"userId": user_id, "isActive": False})

    payload = await api.mutate("resetUserPassword", {"userId": user_id})

    assert [error["code"] for error in payload["userErrors"]] == ["USER_INACTIVE"]
    assert len(await outbox_events(api, email)) == 1


# --- changePassword ----------------------------------------------------------------------------

EVERY_RIGHT = ["VIEW_ALL_ACCOUNTS", "EDIT_ALL_ACCOUNTS"]


@pytest.fixture
async def owner_email(api: Api) -> str:
    return await give_password(api.db, api.firm_id, api.user_id, PASSWORD)


async def change(api: Api, token: str, current: str, new: str) -> dict[str, Any]:
    return await api.mutate(
        "changePassword", {"currentPassword": current, "newPassword": new}, "user { id }", token
    )


async def test_change_password_keeps_this_sign_in_and_ends_the_others(
    api: Api, owner_email: str
) -> None:
    this = (await login(api.http, owner_email, PASSWORD)).json()
    other = (await login(api.http, owner_email, PASSWORD)).json()

    payload = await change(api, this["accessToken"], PASSWORD, NEW_PASSWORD)

    assert payload["userErrors"] == []
    assert (await login(api.http, owner_email, PASSWORD)).status_code == 401
    assert (await login(api.http, owner_email, NEW_PASSWORD)).status_code == 200
    assert (await refresh_with(api.http, other["refreshToken"])).status_code == 401
    assert (await refresh_with(api.http, this["refreshToken"])).status_code == 200


@pytest.mark.parametrize(
    ("current", "new", "field", "code"),
    [
        ("not the password", NEW_PASSWORD, "currentPassword", "INVALID"),
        (PASSWORD, "too short", "newPassword", "TOO_SHORT"),
        (PASSWORD, "p" * 257, "newPassword", "TOO_LONG"),
        ("p" * 100_000, NEW_PASSWORD, "currentPassword", "INVALID"),
    ],
    ids=["wrong-current", "too-short", "too-long", "huge-current"],
)
async def test_change_password_refuses_with_a_user_error_and_changes_nothing(
    api: Api, owner_email: str, current: str, new: str, field: str, code: str
) -> None:
    payload = await change(api, api.token, current, new)

    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [([field], code)]
    assert (await login(api.http, owner_email, PASSWORD)).status_code == 200


async def test_wrong_current_passwords_are_throttled_like_sign_ins(
    api: Api, owner_email: str
) -> None:
    """A stolen access token must not serve to guess its user's password."""
    document = (
        "mutation($input: ChangePasswordInput!) { changePassword(input: $input) "
        "{ userErrors { code } } }"
    )
    wrong = [
        await api.execute(
            document, {"input": {"currentPassword": f"guess {n}", "newPassword": NEW_PASSWORD}}
        )
        for n in range(5)
    ]

    right = await api.execute(
        document, {"input": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}}
    )

    assert [body["data"]["changePassword"]["userErrors"] for body in wrong] == [
        [{"code": "INVALID"}]
    ] * 5
    assert codes(right) == ["RATE_LIMITED"]
    assert (await login(api.http, owner_email, PASSWORD)).status_code == 200


async def test_an_api_key_cannot_change_a_password(api: Api, owner_email: str) -> None:
    key = (await api.ok("createApiKey", {"name": "feed", "permissions": EVERY_RIGHT}, "key"))["key"]
    document = (
        "mutation($input: ChangePasswordInput!) { changePassword(input: $input) { user { id } } }"
    )

    body = await api.execute(
        document, {"input": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}}, key
    )

    assert codes(body) == ["FORBIDDEN"]
    assert (await login(api.http, owner_email, PASSWORD)).status_code == 200


# --- clientgraph set-password ------------------------------------------------------------------


def run_cli(db: Database, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": owner_url(db),
        "CLIENTGRAPH_APP_ROLE": APP_ROLE,
        "CLIENTGRAPH_SECRET": SECRET,
    }
    return subprocess.run(
        [CLIENTGRAPH, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )


async def test_cli_set_password_reads_a_line_from_stdin(api: Api) -> None:
    _, email = await new_user(api)

    result = await asyncio.to_thread(
        run_cli, api.db, "set-password", email, stdin=f"{NEW_PASSWORD}\n"
    )

    assert result.returncode == 0, result.stderr
    assert (await login(api.http, email, NEW_PASSWORD)).status_code == 200


def run_cli_on_a_terminal(db: Database, email: str, first: str, second: str) -> tuple[int, str]:
    """`clientgraph set-password EMAIL` on a pseudo-terminal, typing `first` and `second` at
    its prompts: (exit status, what the terminal showed)."""
    env = {
        **os.environ,
        "DATABASE_URL": owner_url(db),
        "CLIENTGRAPH_APP_ROLE": APP_ROLE,
        "CLIENTGRAPH_SECRET": SECRET,
    }
    pid, terminal = pty.fork()
    if pid == 0:
        os.execve(CLIENTGRAPH, [CLIENTGRAPH, "set-password", email], env)
    shown, answers = b"", [first, second]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not io_select.select([terminal], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(terminal, 1024)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
        prompts = shown.count(b"New password:") + shown.count(b"The same again:")
        if answers and prompts > 2 - len(answers):
            os.write(terminal, answers.pop(0).encode() + b"\n")
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(terminal)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


async def test_cli_set_password_on_a_terminal_asks_twice_without_echo(api: Api) -> None:
    _, email = await new_user(api)

    status, shown = await asyncio.to_thread(
        run_cli_on_a_terminal, api.db, email, NEW_PASSWORD, NEW_PASSWORD
    )

    assert status == 0, shown
    assert "New password:" in shown and "The same again:" in shown
    assert NEW_PASSWORD not in shown
    assert (await login(api.http, email, NEW_PASSWORD)).status_code == 200


async def test_cli_set_password_on_a_terminal_refuses_two_different_passwords(api: Api) -> None:
    _, email = await new_user(api)

    status, shown = await asyncio.to_thread(
        run_cli_on_a_terminal, api.db, email, NEW_PASSWORD, "another passphrase"
    )

    assert status != 0
    assert "differ" in shown
    assert (await login(api.http, email, NEW_PASSWORD)).status_code == 401


async def test_cli_set_password_refuses_a_short_password_and_changes_nothing(
    api: Api, owner_email: str
) -> None:
    result = await asyncio.to_thread(run_cli, api.db, "set-password", owner_email, stdin="short\n")

    assert result.returncode != 0
    assert "at least 12 characters" in result.stderr
    assert (await login(api.http, owner_email, PASSWORD)).status_code == 200


async def test_cli_set_password_of_an_unknown_email_fails(api: Api) -> None:
    result = await asyncio.to_thread(
        run_cli, api.db, "set-password", "nobody@example.invalid", stdin=f"{NEW_PASSWORD}\n"
    )

    assert result.returncode != 0
    assert "no user with email" in result.stderr
