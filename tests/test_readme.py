"""README is what new users follow. Its GraphQL examples are what they paste into GraphiQL
first: each block must be a valid document against the schema, and a block with several
operations must name them all (two anonymous operations are a validation error). Every
`clientgraph` command it shows exists with the options it shows, every setting and migration it
names exists, and its Development section matches the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from clientgraph.db.migrate import ALEMBIC_INI
from clientgraph.mail_sink import DEFAULT_HOST, DEFAULT_PORT
from clientgraph.schema.graphql_core import graphql_schema
from clientgraph.schema.schema import build_schema
from clientgraph.settings import Settings
from graphql import OperationDefinitionNode, parse, validate
from pydantic import AliasChoices

from tests.cli_help import arguments, commands

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```graphql\n(.*?)```", README.read_text(), re.S)
SCHEMA = graphql_schema(build_schema())


def test_the_readme_has_graphql_examples() -> None:
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block-{i}" for i in range(len(BLOCKS))])
def test_a_readme_example_is_a_valid_document(block: str) -> None:
    errors = validate(SCHEMA, parse(block))
    assert errors == [], [error.message for error in errors]


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block-{i}" for i in range(len(BLOCKS))])
def test_a_readme_example_with_several_operations_names_each(block: str) -> None:
    operations = [
        node for node in parse(block).definitions if isinstance(node, OperationDefinitionNode)
    ]
    if len(operations) > 1:
        assert all(operation.name is not None for operation in operations)


# --- what README names exists (issue 13 point 5) ---------------------------------------------

REPO = README.parent
TEXT = README.read_text()
REVISION = r"\d{4}(?:_[a-z_]+)?"
"""A revision id: four digits, then a name in the newer ones (`0007_idempotency_keys`)."""
FENCED = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INVOCATION = re.compile(r"(?:^|(?<=[\s/`(]))clientgraph[ \t]+([a-z][a-z-]*)([^\n]*)")
FLAG = re.compile(r"(?<![\w-])--?[a-z][a-z-]*")
END_OF_COMMAND = re.compile(r"\s#|\||;|&&|>|\)")


def code_pieces() -> list[str]:
    """What README shows as code: fenced and indented blocks, and inline spans, each with
    continued lines (a trailing backslash) joined."""
    prose = FENCED.sub("", TEXT)
    indented = [
        "\n".join(line[4:] for line in block.splitlines())
        for block in re.findall(r"(?:^    [^\n]*\n)+", prose, re.M)
    ]
    spans = [span.replace("\n", " ") for span in re.findall(r"`([^`]+)`", prose)]
    pieces = [*FENCED.findall(TEXT), *indented, *spans]
    return [piece.replace("\\\n", " ") for piece in pieces]


def invocations() -> list[tuple[str, list[str]]]:
    """Each `clientgraph COMMAND …` README shows: the command and the options it passes."""
    found = []
    for piece in code_pieces():
        for command, rest in INVOCATION.findall(piece):
            rest = END_OF_COMMAND.split(rest)[0]
            found.append((command, FLAG.findall(rest)))
    return found


INVOCATIONS = invocations()
CLI_COMMANDS = commands()


def test_the_readme_shows_clientgraph_commands() -> None:
    assert len(INVOCATIONS) >= 10


@pytest.mark.parametrize(
    ("command", "options"), INVOCATIONS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(INVOCATIONS)]
)
def test_a_command_the_readme_shows_exists_with_the_options_it_shows(
    command: str, options: list[str]
) -> None:
    assert command in CLI_COMMANDS
    known = {flag for entry in arguments(command) for flag in entry.flags}
    assert [option for option in options if option not in known] == []


def test_the_readmes_list_of_commands_names_every_command() -> None:
    listed = {command for command, _ in INVOCATION.findall(block_after("\nCommands ("))}

    assert [command for command in CLI_COMMANDS if command not in listed] == []


def setting_names() -> set[str]:
    """The environment variables the settings read, and the switches the test suite reads."""
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(f"CLIENTGRAPH_{name.upper()}")
        if isinstance(field.validation_alias, AliasChoices):
            names.update(
                alias for alias in field.validation_alias.choices if isinstance(alias, str)
            )
    suite = "".join(path.read_text() for path in (REPO / "tests").rglob("*.py"))
    names.update(re.findall(r"environ(?:\.get\(|\[)\s*\"(CLIENTGRAPH_[A-Z0-9_]+)\"", suite))
    return names


def test_every_setting_the_readme_names_exists() -> None:
    named = {name for name in re.findall(r"\bCLIENTGRAPH_[A-Z0-9_]+", TEXT) if name[-1] != "_"}

    assert len(named) >= 20
    assert sorted(named - setting_names()) == []


def test_every_migration_the_readme_names_exists() -> None:
    lists = re.findall(
        r"\bmigrations?\s+(\d{4}(?:(?:\s*,\s*|\s+and\s+|\s*[\u2013-]\s*)\d{4})*)", TEXT
    )
    named = {revision for found in lists for revision in re.findall(r"\d{4}", found)}
    scripts = ScriptDirectory.from_config(Config(str(ALEMBIC_INI)))
    known = {script.revision for script in scripts.walk_revisions()}

    assert named
    assert sorted(named - known) == []


def test_what_readme_says_migrate_prints_names_the_newest_revisions() -> None:
    scripts = ScriptDirectory.from_config(Config(str(ALEMBIC_INI)))
    [head] = scripts.get_heads()
    previous = scripts.get_revision(head).down_revision
    reached = re.findall(rf"(?:created the schema at|already at) ({REVISION})", TEXT)
    steps = re.findall(rf"({REVISION}) → ({REVISION})", TEXT)

    assert reached and steps
    assert set(reached) == {head}
    assert set(steps) == {(previous, head)}


def test_every_database_setting_the_readme_names_is_one_the_code_sets() -> None:
    named = set(re.findall(r"`app\.([a-z_]+)`", TEXT))
    source = "".join(path.read_text() for path in (REPO / "src" / "db").rglob("*.py"))
    known = set(re.findall(r"'app\.([a-z_]+)'", source))

    assert named
    assert sorted(named - known) == []


def block_after(marker: str) -> str:
    """The first fenced block after `marker`."""
    found = FENCED.search(TEXT, TEXT.index(marker))
    assert found is not None, marker
    return found[1]


def development_tree() -> list[str]:
    return block_after("\n## Development\n").splitlines()


def test_every_path_in_the_development_tree_exists() -> None:
    """A line of the tree starts with a path: at the left, of the repository; indented, of
    src/. Deeper-indented lines continue the description above them."""
    paths = [
        (line[: len(line) - len(line.lstrip())], line.split()[0])
        for line in development_tree()
        if re.fullmatch(r"[\w-]+(?:/|\.py)", line.split()[0])
    ]
    missing = [
        name for indent, name in paths if not ((REPO / "src" if indent else REPO) / name).exists()
    ]

    assert len(paths) >= 10
    assert missing == []


def test_the_development_tree_names_every_package_and_module_of_src() -> None:
    tree = " ".join(development_tree())
    src = REPO / "src"
    parts = [f"{path.name}/" for path in src.iterdir() if (path / "__init__.py").exists()]
    parts += [path.name for path in src.glob("*.py") if path.name != "__init__.py"]

    assert [part for part in sorted(parts) if not re.search(rf"(?<![\w/]){part}", tree)] == []


LAYERS = {"db": 0, "outbox": 1, "resolvers": 2, "schema": 3, "plan": 4, "web": 5}
"""The Development section's import direction: a package imports only packages of lower
layers (and the modules beside them), never one of its own layer or above."""


def test_imports_go_one_way_as_the_development_section_says() -> None:
    wrong = []
    for package, layer in LAYERS.items():
        for path in (REPO / "src" / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                modules += (
                    [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
                )
                for module in modules:
                    target = module.split(".")[1] if module.startswith("clientgraph.") else ""
                    if target != package and LAYERS.get(target, -1) >= layer:
                        wrong.append(f"{path.relative_to(REPO)} imports {module}")

    assert wrong == []


def test_the_readme_points_smtp_at_the_mail_sinks_default_address() -> None:
    assert f"CLIENTGRAPH_SMTP_URL=smtp://{DEFAULT_HOST}:{DEFAULT_PORT}" in TEXT
    assert "clientgraph mail-sink" in TEXT
