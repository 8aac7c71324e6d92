"""A streaming replica of the run's PostgreSQL: a second cluster made with `pg_basebackup -R`
in a temporary directory, on a free port, following the primary over a replication connection
through the primary's local socket, as the `postgres` OS user.

The primary must run on this machine and let `postgres` open replication connections on its
socket (`.ci/run` adds `local replication postgres trust` to pg_hba.conf where it is missing).
Missing binaries or a refused replication connection skip the tests that need a replica; with
`CLIENTGRAPH_REQUIRE_POSTGRES=1` (as in CI) they fail them instead."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.server_process import free_port
from tests.support import asyncpg_dsn

REQUIRE_POSTGRES = os.environ.get("CLIENTGRAPH_REQUIRE_POSTGRES") == "1"
START_TIMEOUT_S = 30
CATCH_UP_TIMEOUT_S = 30.0
STANDBY_AT_LEAST = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)
"""Settings a hot standby must have at least as high as its primary, or it will not start."""


def unavailable(message: str) -> NoReturn:
    """Skip, or fail with CLIENTGRAPH_REQUIRE_POSTGRES=1."""
    if REQUIRE_POSTGRES:
        pytest.fail(message + " (CLIENTGRAPH_REQUIRE_POSTGRES=1)")
    pytest.skip(message)


def binaries(major: int) -> Path:
    directory = Path(f"/usr/lib/postgresql/{major}/bin")
    if not all(os.access(directory / name, os.X_OK) for name in ("pg_basebackup", "pg_ctl")):
        unavailable(f"pg_basebackup and pg_ctl are not in {directory}")
    return directory


def cluster_user() -> str | None:
    """The OS user the replica runs as: `postgres` when we are root (PostgreSQL refuses to
    run as root); ourselves otherwise."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        unavailable("there is no `postgres` OS user to run a replica as")
    return "postgres"


def run_as(user: str | None, command: Sequence[str | Path]) -> None:
    finished = subprocess.run(
        [str(part) for part in command], user=user, capture_output=True, text=True, check=False
    )
    if finished.returncode != 0:
        output = (finished.stdout + finished.stderr).strip()
        if "pg_hba.conf" in output and "replication" in output:
            unavailable(f"the primary refuses replication connections: {output}")
        raise AssertionError(f"{command[0]} failed ({finished.returncode}):\n{output}")


@dataclass
class StreamingReplica:
    data: Path
    port: int
    log: Path
    bin: Path
    user: str | None

    def url(self, primary_url: str) -> str:
        """`primary_url` (user, password, database) on the replica."""
        return (
            make_url(primary_url)
            .set(host="127.0.0.1", port=self.port)
            .render_as_string(hide_password=False)
        )

    def _pg_ctl(self, *arguments: str) -> None:
        run_as(self.user, [self.bin / "pg_ctl", "-D", self.data, "-l", self.log, *arguments])

    async def start(self) -> None:
        await asyncio.to_thread(self._pg_ctl, "-w", "-t", str(START_TIMEOUT_S), "start")

    async def stop(self) -> None:
        await asyncio.to_thread(self._pg_ctl, "-w", "-m", "fast", "stop")

    async def _run(self, primary_url: str, statement: str) -> object:
        connection = await asyncpg.connect(asyncpg_dsn(self.url(primary_url)))
        try:
            return await connection.fetchval(statement)
        finally:
            await connection.close()

    async def pause_replay(self, primary_url: str) -> None:
        """Stop applying the primary's changes (they still arrive) until `resume_replay`."""
        await self._run(primary_url, "SELECT pg_wal_replay_pause()")
        async with asyncio.timeout(CATCH_UP_TIMEOUT_S):
            while await self._run(primary_url, "SELECT pg_get_wal_replay_pause_state()") != (
                "paused"
            ):
                await asyncio.sleep(0.05)

    async def resume_replay(self, primary_url: str) -> None:
        await self._run(primary_url, "SELECT pg_wal_replay_resume()")

    async def promote(self, primary_url: str) -> None:
        """Make the replica a primary of its own (as a failover would): it leaves recovery
        and follows the primary no more."""
        promoted = await self._run(primary_url, "SELECT pg_promote()")
        assert promoted is True, promoted

    async def caught_up(self, primary_url: str) -> None:
        """Wait until the replica shows everything the primary had written when asked."""
        position = await _fetch(primary_url, "SELECT pg_current_wal_insert_lsn()::text")
        async with asyncio.timeout(CATCH_UP_TIMEOUT_S):
            while not await self._run(
                primary_url, f"SELECT pg_last_wal_replay_lsn() >= '{position}'::pg_lsn"
            ):
                await asyncio.sleep(0.05)

    async def tables_read(self, primary_url: str) -> int:
        """Scans of the database's tables the replica has counted (its own statistics: a
        standby counts what is read on it)."""
        scans = await self._run(
            primary_url,
            "SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0)::bigint"
            " FROM pg_stat_user_tables",
        )
        assert isinstance(scans, int)
        return scans


async def _fetch(url: str, statement: str) -> object:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return await connection.fetchval(statement)
    finally:
        await connection.close()


def _configuration(port: int, socket_directory: Path, at_least: dict[str, str]) -> str:
    """The replica's own settings (a base backup of a Debian cluster holds no
    postgresql.conf): hot standby on 127.0.0.1 and its own socket directory, small, and
    without fsync (a test's throwaway)."""
    lines = [
        f"port = {port}",
        "listen_addresses = '127.0.0.1'",
        f"unix_socket_directories = '{socket_directory}'",
        "hot_standby = on",
        "hot_standby_feedback = on",
        "shared_buffers = 16MB",
        "fsync = off",
        "wal_receiver_status_interval = 1s",
        *(f"{name} = {value}" for name, value in at_least.items()),
    ]
    return "\n".join(lines) + "\n"


HBA = "local all all trust\nhost all all 127.0.0.1/32 trust\n"


@contextlib.asynccontextmanager
async def running_replica(primary_url: str) -> AsyncIterator[StreamingReplica]:
    """A hot standby of the server `primary_url` names (the tables' owner, a superuser),
    streaming from it, until the block ends; then stopped and removed."""
    admin = await asyncpg.connect(asyncpg_dsn(primary_url))
    try:
        major = int(await admin.fetchval("SHOW server_version_num")) // 10000
        sockets = str(await admin.fetchval("SHOW unix_socket_directories"))
        primary_port = int(await admin.fetchval("SHOW port"))
        at_least = {name: str(await admin.fetchval(f"SHOW {name}")) for name in STANDBY_AT_LEAST}
    finally:
        await admin.close()
    bin_directory = binaries(major)
    socket = next((entry.strip() for entry in sockets.split(",") if entry.strip()), "")
    if not socket or not Path(socket).is_dir():
        unavailable(f"the primary's socket directory {socket!r} is not on this machine")
    user = cluster_user()
    with tempfile.TemporaryDirectory(prefix="clientgraph-replica-") as name:
        directory = Path(name)
        if user is not None:
            shutil.chown(directory, user)
        data = directory / "data"
        await asyncio.to_thread(
            run_as,
            user,
            [
                bin_directory / "pg_basebackup",
                "-h",
                socket,
                "-p",
                str(primary_port),
                "-U",
                "postgres",
                "-D",
                data,
                "-X",
                "stream",
                "-R",
                "--checkpoint=fast",
                "--no-sync",
            ],
        )
        port = free_port()
        for file_name, text in (
            ("postgresql.conf", _configuration(port, directory, at_least)),
            ("pg_hba.conf", HBA),
        ):
            written = data / file_name
            written.write_text(text)
            if user is not None:
                shutil.chown(written, user)
        replica = StreamingReplica(data, port, directory / "replica.log", bin_directory, user)
        await replica.start()
        try:
            await replica.caught_up(primary_url)
            yield replica
        finally:
            with contextlib.suppress(AssertionError):
                await replica.stop()
