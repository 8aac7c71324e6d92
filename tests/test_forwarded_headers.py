"""Forwarded headers (issue 14, point 1): `X-Forwarded-For` names the client only when the
connection's peer is one of `CLIENTGRAPH_FORWARDED_ALLOW_IPS` (default: none), whether the app
runs under `clientgraph serve` (one worker or several) or under uvicorn as a factory, whose
own proxy handling trusts 127.0.0.1 by default.

Each server is a real process on a free port, on an embedded SQLite file holding one user with
a password; every request comes from 127.0.0.1. The lockout of failed sign-ins (five per e-mail
and client address) shows which address each request was counted under.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from clientgraph.db.engine import Database
from clientgraph.db.migrate import upgrade
from clientgraph.resolvers.firms import create_firm

from tests.server_process import free_port, running, server_environment
from tests.support import SECRET, settings_for
from tests.test_serve import Served, clientgraph_serve, wait_until_every_worker_answers
from tests.test_sign_in import PASSWORD, give_password

EMAIL = "forwarded@example.com"
UVICORN = str(Path(sys.executable).with_name("uvicorn"))


@pytest.fixture(scope="module")
async def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the servers run, with `serve.db` migrated and holding the user EMAIL."""
    directory = tmp_path_factory.mktemp("forwarded")
    url = f"sqlite+aiosqlite:///{directory / 'serve.db'}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        firm_id, user_id = await create_firm(
            db, name="Forwarded", admin_email=EMAIL, admin_name=None
        )
        await give_password(db, firm_id, user_id, PASSWORD)
    finally:
        await db.dispose()
    return directory


@contextlib.contextmanager
def uvicorn_factory(directory: Path, *arguments: str, env: dict[str, str]) -> Iterator[Served]:
    """`uvicorn clientgraph.app:create_app --factory` with uvicorn's own defaults."""
    port = free_port()
    log = directory / f"uvicorn-{port}.log"
    defaults = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'serve.db'}",
        "CLIENTGRAPH_SECRET": SECRET,
        "CLIENTGRAPH_OUTBOX_RELAY": "false",
    }
    environment = server_environment(**(defaults | env))
    command = [UVICORN, "clientgraph.app:create_app", "--factory", "--port", str(port), *arguments]
    with running(command, environment, log, cwd=directory) as process:
        served = Served(process, port, 1, log)
        wait_until_every_worker_answers(served)
        yield served


@contextlib.contextmanager
def server(kind: str, directory: Path, env: dict[str, str], workers: int = 1) -> Iterator[Served]:
    if kind == "serve":
        with clientgraph_serve(directory, workers=workers, env=env) as served:
            yield served
    elif kind == "uvicorn":
        with uvicorn_factory(directory, env=env) as served:
            yield served
    else:
        with uvicorn_factory(directory, "--no-proxy-headers", env=env) as served:
            yield served


def login(served: Served, password: str, forwarded_for: str) -> httpx.Response:
    """A sign-in on a connection of its own (so that several workers share the requests)."""
    return httpx.post(
        f"http://127.0.0.1:{served.port}/auth/login",
        json={"email": EMAIL, "password": password},
        headers={"X-Forwarded-For": forwarded_for},
        timeout=30,
    )


def lock_out_and_try_again(served: Served) -> tuple[list[int], httpx.Response]:
    """Five wrong passwords, each claiming another client, then the right one from yet
    another: the statuses of the five and the last answer."""
    failures = [
        login(served, f"wrong password {n}", f"203.0.113.{n}").status_code for n in range(5)
    ]
    return failures, login(served, PASSWORD, "203.0.113.99")


@pytest.fixture
def shared_counters(request: pytest.FixtureRequest) -> dict[str, str]:
    """Redis for the server with two workers (each worker counts alone in memory)."""
    return {
        "REDIS_URL": request.getfixturevalue("redis_url"),
        "CLIENTGRAPH_REDIS_KEY_PREFIX": request.getfixturevalue("redis_key_prefix"),
    }


IGNORED = {
    "serve": ("serve", {}, 1),
    "serve, 2 workers": ("serve", {}, 2),
    "uvicorn factory": ("uvicorn", {}, 1),
    "uvicorn factory told to trust every peer": ("uvicorn", {"FORWARDED_ALLOW_IPS": "*"}, 1),
}


@pytest.mark.parametrize("case", list(IGNORED))
def test_by_default_x_forwarded_for_does_not_change_the_counted_address(
    directory: Path, case: str, request: pytest.FixtureRequest
) -> None:
    kind, env, workers = IGNORED[case]
    if workers > 1:
        env = {**env, **request.getfixturevalue("shared_counters")}
    with server(kind, directory, env, workers) as served:
        failures, right_password = lock_out_and_try_again(served)
        log = served.log.read_text(errors="replace")

    assert failures == [401] * 5
    assert right_password.status_code == 429, right_password.text
    if kind == "uvicorn":
        assert "such requests are counted as one unknown client" in log


@pytest.mark.parametrize("kind", ["serve", "uvicorn --no-proxy-headers"])
def test_from_a_named_proxy_the_forwarded_client_is_counted(directory: Path, kind: str) -> None:
    env = {"CLIENTGRAPH_FORWARDED_ALLOW_IPS": "127.0.0.1"}
    with server(kind, directory, env) as served:
        failures = [
            login(served, f"wrong password {n}", "198.51.100.7").status_code for n in range(5)
        ]
        same_client = login(served, PASSWORD, "198.51.100.7")
        other_client = login(served, PASSWORD, "198.51.100.8")

    assert failures == [401] * 5
    assert same_client.status_code == 429
    assert other_client.status_code == 200, other_client.text


@pytest.mark.parametrize("value", ["proxy.internal", "10.0.0.1, *", "10.0.0.300"])
def test_a_forwarded_allow_ips_that_is_no_address_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="CLIENTGRAPH_FORWARDED_ALLOW_IPS"):
        settings_for("sqlite+aiosqlite:///unused.db", forwarded_allow_ips=value)
