"""A private PgBouncer in transaction mode in front of the run's PostgreSQL: Debian's
`pgbouncer` binary on a free port, with its own ini and auth file in a temporary directory.

A missing binary skips the tests that need it; with `CLIENTGRAPH_REQUIRE_PGBOUNCER=1` (as in
CI, `.ci/run`) it fails them instead."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.server_process import free_port

REQUIRE_PGBOUNCER = os.environ.get("CLIENTGRAPH_REQUIRE_PGBOUNCER") == "1"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


def pgbouncer_binary() -> str:
    """The binary's path; a skip (a failure with CLIENTGRAPH_REQUIRE_PGBOUNCER=1) without it."""
    found = shutil.which("pgbouncer") or next(
        (path for path in ("/usr/sbin/pgbouncer",) if os.access(path, os.X_OK)), None
    )
    if found is None:
        message = "pgbouncer is not installed (Debian: apt-get install pgbouncer)"
        if REQUIRE_PGBOUNCER:
            pytest.fail(message + " (CLIENTGRAPH_REQUIRE_PGBOUNCER=1)")
        pytest.skip(message)
    return found


def unprivileged_user() -> str:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "nobody"
    return "postgres"


@dataclass(frozen=True)
class PgBouncer:
    port: int
    log: Path

    def url(self, direct_url: str) -> str:
        """`direct_url` (user, password, database) as reached through this PgBouncer."""
        return (
            make_url(direct_url)
            .set(host="127.0.0.1", port=self.port)
            .render_as_string(hide_password=False)
        )

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _ini(port: int, upstream_host: str, upstream_port: int, auth_file: Path, pool_size: int) -> str:
    """Every database name is passed on to the upstream server as it is (`*`); the pool per
    database and user is `pool_size` server connections, shared by any number of clients, each
    holding one only while a transaction runs."""
    return f"""\
[databases]
* = host={upstream_host} port={upstream_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {auth_file}
pool_mode = transaction
default_pool_size = {pool_size}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 500
server_reset_query =
server_check_delay = 0
ignore_startup_parameters = extra_float_digits
"""


async def _answers(url: str) -> bool:
    try:
        connection = await asyncpg.connect(
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
            timeout=2,
            statement_cache_size=0,
        )
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


@contextlib.asynccontextmanager
async def running_pgbouncer(
    direct_url: str, *, users: tuple[str, ...], pool_size: int = 4
) -> AsyncIterator[PgBouncer]:
    """PgBouncer in transaction mode in front of the server `direct_url` names, letting
    `users` in (trust, as the test server does), until the block ends.

    PgBouncer refuses to run as root: as root it is started as `postgres` (`-u`), or `nobody`
    where there is no such user, so its directory is readable by every user."""
    binary = pgbouncer_binary()
    upstream = make_url(direct_url)
    with tempfile.TemporaryDirectory(prefix="clientgraph-pgbouncer-") as name:
        directory = Path(name)
        directory.chmod(0o755)
        auth_file = directory / "userlist.txt"
        auth_file.write_text("".join(f'"{user}" ""\n' for user in users))
        port = free_port()
        ini = directory / "pgbouncer.ini"
        ini.write_text(
            _ini(port, upstream.host or "127.0.0.1", upstream.port or 5432, auth_file, pool_size)
        )
        for written in (auth_file, ini):
            written.chmod(0o644)
        log = directory / "pgbouncer.log"
        as_user = ["-u", unprivileged_user()] if os.geteuid() == 0 else []
        with log.open("wb") as output:
            process = subprocess.Popen(
                [binary, *as_user, str(ini)], stdout=output, stderr=subprocess.STDOUT
            )
        bouncer = PgBouncer(port=port, log=log)
        try:
            probe = bouncer.url(direct_url)
            async with asyncio.timeout(START_TIMEOUT_S):
                while not await _answers(probe):
                    assert process.poll() is None, f"pgbouncer exited:\n{bouncer.log_text()}"
                    await asyncio.sleep(0.1)
            yield bouncer
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
