"""What `clientgraph --help` and `clientgraph COMMAND --help` show, read as a user reads it: the
commands, and each command's arguments with their help text."""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass

from clientgraph.cli import main

ENTRY_INDENT = "  "
"""argparse starts each argument's entry two spaces in; its help continues deeper."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One argument as the help lists it: `--port PORT` and its help text."""

    invocation: str
    help: str

    @property
    def is_option(self) -> bool:
        return self.invocation.startswith("-")

    @property
    def flags(self) -> list[str]:
        return re.findall(r"(?<![\w-])--?[a-z][a-z-]*", self.invocation)


def help_text(*argv: str) -> str:
    """What `clientgraph *argv --help` prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main([*argv, "--help"])
    return out.getvalue()


def commands() -> list[str]:
    """The subcommands, as the usage line lists them: `{serve,migrate,…}`."""
    found = re.search(r"\{([a-z,-]+)\}", help_text())
    assert found is not None, help_text()
    return found[1].split(",")


def sections(text: str) -> dict[str, list[str]]:
    """The help's lines under each heading (`options:`, `positional arguments:`)."""
    result: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if re.fullmatch(r"[a-z][a-z ]*:", line):
            current = result.setdefault(line[:-1], [])
        elif current is not None and line.strip():
            current.append(line)
    return result


def entries(lines: list[str]) -> list[Entry]:
    """The arguments of one section: an entry starts two spaces in; its help follows after a
    gap of two or more spaces on the same line, or on deeper-indented lines below."""
    found: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith(ENTRY_INDENT) and not line.startswith(ENTRY_INDENT + " "):
            invocation, _, rest = line.strip().partition("  ")
            found.append((invocation, [rest.strip()] if rest.strip() else []))
        elif found:
            found[-1][1].append(line.strip())
    return [Entry(invocation, " ".join(words)) for invocation, words in found]


def arguments(command: str) -> list[Entry]:
    """Every argument of `clientgraph COMMAND`, positional ones first."""
    parts = sections(help_text(command))
    return entries(parts.get("positional arguments", [])) + entries(parts.get("options", []))


def command_lines() -> dict[str, str]:
    """Each subcommand's line in `clientgraph --help`: the subcommand and its help."""
    lines = sections(help_text())["positional arguments"]
    listed = [line for line in lines if line.startswith(ENTRY_INDENT * 2)]
    return {entry.invocation: entry.help for entry in entries([line[2:] for line in listed])}
