"""`clientgraph --help` and each command's `--help` (issue 13 point 3): every command and
every argument has a help line, every option says its default (or that it is required), and
`--permission` lists the permissions there are."""

from __future__ import annotations

import pytest
from clientgraph.resolvers.enums import Permission

from tests.cli_help import arguments, command_lines, commands, help_text

COMMANDS = commands()


def test_the_help_lists_the_commands_an_operator_needs() -> None:
    assert {"serve", "migrate", "worker", "create-firm", "export-schema"} <= set(COMMANDS)


def test_every_command_has_a_help_line() -> None:
    lines = command_lines()

    assert set(lines) == set(COMMANDS)
    assert [command for command, words in lines.items() if not words] == []


@pytest.mark.parametrize("command", COMMANDS)
def test_every_argument_of_a_command_has_a_help_line(command: str) -> None:
    found = arguments(command)

    assert found, help_text(command)
    assert [entry.invocation for entry in found if not entry.help] == []


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_of_a_command_says_its_default_or_that_it_is_required(command: str) -> None:
    options = [entry for entry in arguments(command) if entry.is_option and "-h" not in entry.flags]

    silent = [
        entry.invocation
        for entry in options
        if "default" not in entry.help and "required" not in entry.help
    ]
    assert silent == []


def test_serve_says_where_it_listens_by_default() -> None:
    helps = {entry.flags[0]: entry.help for entry in arguments("serve") if entry.is_option}

    assert "default: 127.0.0.1" in helps["--host"]
    assert "default: 8000" in helps["--port"]
    assert "default: 1" in helps["--workers"]


def test_the_permission_option_lists_every_permission() -> None:
    [permission] = [entry for entry in arguments("create-api-key") if "--permission" in entry.flags]

    named = {word.strip(",.") for word in permission.help.split()}
    assert set(Permission) <= named
