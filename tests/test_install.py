"""Every install path serves (issue 13, point 1): the wheel and the sdist, built from the
project's files as a fresh clone has them, are each installed into a virtualenv of their own
that cannot see the source tree (made in a temporary folder, no PYTHONPATH, not editable), and
`clientgraph serve --demo` from there answers a planned read, a mutation and GraphiQL's page.

The wheel is built from the tree (as `pip wheel .` and `pip install git+…` build it) and the
sdist is installed as pip installs one, building its own wheel from the sdist alone: the two
paths can ship different files, so each is served. Builds run with build isolation, so a
missing build requirement fails here as it would for a user. Select with `-m install`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from clientgraph.demo import DEMO_ADMIN_EMAIL, DEMO_PASSWORD

from tests.server_process import free_port, running, wait_until_ready

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parents[1]
KINDS = ["wheel", "sdist"]
STEP_TIMEOUT_S = 300
READY_TIMEOUT_S = 90
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
ASSET = re.compile(r'\b(?:src|href)="(/graphiql/[^"]*)"')
PLANNED_READ = """{
  accounts(first: 3, orderBy: {field: NAME, direction: ASC}) {
    totalCount
    nodes { name owner { name } tags }
  }
}"""
CREATE_CONTACT = """mutation($input: CreateContactInput!) {
  createContact(input: $input) { contact { id fullName } userErrors { field message } }
}"""
READ_CONTACT = "query($id: ID!) { node(id: $id) { ... on Contact { fullName } } }"


def tree_files() -> list[str]:
    """The project's files as a commit of the working tree would hold them (tracked and new,
    not ignored), relative to the root."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    names = [name.decode() for name in listed.stdout.split(b"\0") if name]
    return sorted(name for name in names if (ROOT / name).is_file())


def clean_environment() -> dict[str, str]:
    """This process's environment without anything that points Python or clientgraph at the
    source tree or at the test run's settings."""
    dropped = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "DATABASE_URL")
    return {
        key: value
        for key, value in os.environ.items()
        if key not in dropped and not key.startswith("CLIENTGRAPH_")
    }


def run(command: list[str | Path], cwd: Path) -> None:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT_S,
    )
    if done.returncode != 0:
        pytest.fail(f"{' '.join(map(str, command))} failed:\n{done.stdout}\n{done.stderr}")


@dataclass(frozen=True)
class Artifacts:
    wheel: Path
    sdist: Path

    def of(self, kind: str) -> Path:
        return self.wheel if kind == "wheel" else self.sdist


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    """Built from a copy of the tree's files: a `build/` folder left in the tree by an earlier
    build would be packed again and could hide a file the configuration misses."""
    directory = tmp_path_factory.mktemp("build")
    clone = directory / "clone"
    for name in tree_files():
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, clone / name)
    dist = directory / "dist"
    run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", dist, clone], directory)
    return Artifacts(wheel=next(dist.glob("*.whl")), sdist=next(dist.glob("*.tar.gz")))


@dataclass
class Installed:
    kind: str
    directory: Path
    venv: Path

    def command(self, name: str) -> Path:
        return self.venv / "bin" / name


@dataclass
class Served:
    installed: Installed
    url: str
    token: str

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        return httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )


def install(kind: str, artifacts: Artifacts, directory: Path) -> Installed:
    """A virtualenv of its own in `directory`, the artifact installed into it by pip (this
    run's pip, pointed at the new interpreter: the same install without bootstrapping a pip
    into every virtualenv)."""
    venv = directory / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], directory)
    python = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", python, "install", artifacts.of(kind)], directory)
    return Installed(kind, directory, venv)


def _sign_in(url: str) -> str:
    response = httpx.post(
        f"{url}/auth/login",
        json={"email": DEMO_ADMIN_EMAIL, "password": DEMO_PASSWORD},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["accessToken"])


@contextlib.contextmanager
def serve_demo(installed: Installed) -> Iterator[Served]:
    """`clientgraph serve --demo` of the installed package, on a free port and a database
    file of its own, run from a folder outside the source tree."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = installed.directory / "serve.log"
    environment = clean_environment() | {
        "DATABASE_URL": f"sqlite+aiosqlite:///{installed.directory / 'demo.db'}"
    }
    command = [str(installed.command("clientgraph")), "serve", "--demo", "--port", str(port)]
    with running(command, environment, log, cwd=installed.directory, stop_timeout=30) as process:
        wait_until_ready(process, url, log, timeout=READY_TIMEOUT_S)
        yield Served(installed, url, _sign_in(url))


@pytest.fixture(scope="module", params=KINDS)
def served(
    request: pytest.FixtureRequest,
    artifacts: Artifacts,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    installed = install(request.param, artifacts, tmp_path_factory.mktemp(request.param))
    with serve_demo(installed) as running:
        yield running


def test_the_server_runs_the_installed_package_not_the_source_tree(served: Served) -> None:
    installed = served.installed
    found = subprocess.run(
        [installed.command("python"), "-c", "import clientgraph; print(clientgraph.__file__)"],
        cwd=installed.directory,
        env=clean_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    module = Path(found.stdout.strip()).resolve()

    assert installed.venv.resolve() in module.parents
    assert ROOT not in module.parents


def test_a_read_of_the_demo_goes_through_the_planned_path(served: Served) -> None:
    response = served.graphql(PLANNED_READ)

    assert response.status_code == 200, response.text
    assert response.headers["x-read-path"] == "planned"
    body = response.json()
    assert "errors" not in body
    assert body["data"]["accounts"]["totalCount"] > 3
    assert len(body["data"]["accounts"]["nodes"]) == 3


def test_a_mutation_is_stored(served: Served) -> None:
    created = served.graphql(
        CREATE_CONTACT, {"input": {"firstName": "Inge", "lastName": f"Installed {served.url}"}}
    )
    payload = created.json()["data"]["createContact"]
    read = served.graphql(READ_CONTACT, {"id": payload["contact"]["id"]})

    assert payload["userErrors"] == []
    assert read.json()["data"]["node"] == {"fullName": f"Inge Installed {served.url}"}


def test_graphiql_and_every_asset_it_links_are_served(served: Served) -> None:
    page = httpx.get(f"{served.url}/graphql", headers=BROWSER, timeout=30)
    assets = ASSET.findall(page.text)
    answers = {path: httpx.get(f"{served.url}{path}", timeout=30) for path in assets}

    assert page.status_code == 200
    assert len(assets) >= 4
    assert {path: answer.status_code for path, answer in answers.items()} == dict.fromkeys(
        assets, 200
    )
    assert all(answer.content for answer in answers.values())


def _archive_names(artifact: Path) -> set[str]:
    if artifact.suffix == ".whl":
        with zipfile.ZipFile(artifact) as wheel:
            return {name for name in wheel.namelist() if not name.endswith("/")}
    with tarfile.open(artifact) as sdist:
        return {member.name.split("/", 1)[1] for member in sdist.getmembers() if member.isfile()}


@pytest.mark.parametrize("kind", KINDS)
def test_every_file_under_src_ships(artifacts: Artifacts, kind: str) -> None:
    """The pages, GraphiQL's assets, alembic.ini, migrations and their template included,
    and nothing under src that the tree does not hold (no byte code)."""
    under_src = [name.removeprefix("src/") for name in tree_files() if name.startswith("src/")]
    prefix = "clientgraph/" if kind == "wheel" else "src/"
    names = _archive_names(artifacts.of(kind))

    shipped = {name.removeprefix(prefix) for name in names if name.startswith(prefix)}

    assert shipped == set(under_src)
