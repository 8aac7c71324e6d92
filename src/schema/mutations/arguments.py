"""What every mutation does with its `input`: the fields the caller passed, optional ids."""

from __future__ import annotations

from typing import Any

import strawberry


def given(input_object: object, *names: str) -> dict[str, Any]:
    """The fields of an input the caller actually passed (null included), by Python name."""
    return {
        name: getattr(input_object, name)
        for name in names
        if getattr(input_object, name) is not strawberry.UNSET
    }


def optional_id(value: strawberry.ID | None) -> str | None:
    return str(value) if value is not None else None
