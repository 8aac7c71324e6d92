"""No private name (`_x`) crosses a package boundary, in `src/` or in `tests/`: what another
package uses is public, renamed so, and a third-party library's private parts are reached in
one wrapper of ours at most.

A package is a folder (`src/plan/fields/` is one, `src/plan/` another). A module may import a
private name only from its own package, and read `something._x` only on `self`, `cls` or
`super()`, or when `_x` is a class member or an assigned attribute in its own package."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TREES = {"src": "clientgraph", "tests": "tests"}
"""Each checked folder, by the name its modules are imported under."""

KNOWN = {
    ("src/schema/graphql_core.py", "_schema"),
    ("src/schema/graphql_core.py", "_strawberry_schema"),
    # Strawberry's GraphQLSchema has no public accessor: this is the one wrapper.
    ("src/plan/compiled.py", "_generate_cache_key"),
    ("src/plan/compiled.py", "_compile_w_cache"),
    # SQLAlchemy fills a compiled cache only while executing: `compile_ahead` is the one wrapper.
}


@dataclass(frozen=True)
class Crossing:
    path: str
    line: int
    name: str
    how: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.how} {self.name}"


NAMED_TUPLE_API = frozenset({"_replace", "_asdict", "_fields", "_field_defaults", "_make"})
"""A named tuple's public methods, underscored so as not to clash with its fields."""


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in NAMED_TUPLE_API


def modules() -> Iterator[tuple[str, str, ast.Module]]:
    """(path from the root, its package as a dotted name, its tree) of every checked module."""
    for folder, dotted in TREES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT / folder).parent.parts
            yield (
                path.relative_to(ROOT).as_posix(),
                ".".join((dotted, *relative)),
                ast.parse(path.read_text(), str(path)),
            )


def attribute_names(tree: ast.Module) -> Iterator[str]:
    """The attributes a module defines: its classes' members and the attributes it assigns
    (a module-level function `_read` is not `context._read`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    yield member.name
                elif isinstance(member, ast.AnnAssign) and isinstance(member.target, ast.Name):
                    yield member.target.id
                elif isinstance(member, ast.Assign):
                    yield from (t.id for t in member.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            yield node.attr


def imported_package(package: str, node: ast.ImportFrom) -> str:
    """The package whose module `node` imports from (relative imports resolved)."""
    if node.level:
        base = package.split(".")[: len(package.split(".")) - node.level + 1]
        return ".".join([*base, *(node.module.split(".") if node.module else [])])
    return node.module or ""


def own_receiver(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in ("self", "cls")
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
    )


def package_of(module: str, packages: set[str]) -> str:
    """The package of an imported module: itself if it is one (its `__init__`), else its
    parent."""
    return module if module in packages else module.rpartition(".")[0]


def crossings(parsed: list[tuple[str, str, ast.Module]]) -> list[Crossing]:
    defined: dict[str, set[str]] = defaultdict(set)
    for _, package, tree in parsed:
        defined[package].update(attribute_names(tree))
    packages = set(defined)
    found = []
    for path, package, tree in parsed:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = imported_package(package, node)
                for alias in node.names:
                    if private(alias.name) and package_of(source, packages) != package:
                        found.append(
                            Crossing(path, node.lineno, alias.name, f"imports from {source}")
                        )
            if isinstance(node, ast.ImportFrom | ast.Import):
                dotted = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                dotted += (
                    [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
                )
                for part in ".".join(dotted).split("."):
                    if private(part):
                        found.append(Crossing(path, node.lineno, part, "imports the module"))
            elif (
                isinstance(node, ast.Attribute)
                and private(node.attr)
                and not own_receiver(node.value)
                and node.attr not in defined[package]
            ):
                found.append(Crossing(path, node.lineno, node.attr, "reads another's"))
    return found


def test_no_private_name_crosses_a_package_boundary() -> None:
    unknown = [c for c in crossings(list(modules())) if (c.path, c.name) not in KNOWN]
    assert not unknown, "\n".join(map(str, unknown))


def test_the_known_crossings_still_cross() -> None:
    """An entry of KNOWN that no longer crosses is taken out, so none hides a new one."""
    crossing = {(c.path, c.name) for c in crossings(list(modules()))}
    assert KNOWN - crossing == set()


OWNER = """
class Context:
    def _read(self):
        return self._session
    def read(self):
        return self._read()
"""


@pytest.mark.parametrize(
    ("user", "package", "found"),
    [
        ("from app.resolvers.context import _helper", "app.plan", ["_helper"]),
        ("from app.resolvers.context import _helper", "app.resolvers", []),
        ("from app.resolvers import _helper", "app.plan", ["_helper"]),
        ("from ..resolvers.context import _helper", "app.plan", ["_helper"]),
        ("from .context import _helper", "app.resolvers", []),
        ("import app.resolvers._hidden", "app.plan", ["_hidden"]),
        ("def f(context):\n    return context._read()", "app.plan", ["_read"]),
        ("def f(context):\n    return context._read()", "app.resolvers", []),
        (
            "def _read():\n    pass\ndef f(context):\n    return context._read()",
            "app.plan",
            ["_read"],
        ),
        ("def f(schema):\n    return schema._schema", "app.resolvers", ["_schema"]),
        ("class A(B):\n    def f(self):\n        return super()._x() + self._y", "app.plan", []),
        ("def f(context):\n    return context.__class__", "app.plan", []),
        ("def f(parts):\n    return parts._replace(path='/')._asdict()", "app.plan", []),
    ],
)
def test_a_private_name_across_packages_is_found_and_one_within_is_not(
    user: str, package: str, found: list[str]
) -> None:
    parsed = [
        ("owner.py", "app.resolvers", ast.parse(OWNER)),
        ("user.py", package, ast.parse(user)),
    ]
    assert [crossing.name for crossing in crossings(parsed)] == found
