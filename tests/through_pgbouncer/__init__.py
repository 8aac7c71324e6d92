"""Chosen HTTP test modules run again with the app's database behind PgBouncer in transaction
mode (`conftest.py` here gives them a `database` fixture of its own): each module of this
package takes the tests and fixtures of one module of `tests` with `rerun`."""

from __future__ import annotations

from types import ModuleType
from typing import Any


def rerun(module: ModuleType, namespace: dict[str, Any]) -> None:
    """Put `module`'s tests, fixtures and marks into `namespace` (a test module's globals), so
    pytest collects them there, where this package's fixtures apply."""
    namespace.update(
        {name: value for name, value in vars(module).items() if not name.startswith("__")}
    )
