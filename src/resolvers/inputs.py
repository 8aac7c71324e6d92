"""Checks of input shared by every area: ids, required text, lengths, search text."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from clientgraph.ids import decode_id
from clientgraph.resolvers.enums import UserErrorCode
from clientgraph.resolvers.errors import BadUserInput, TooLong, UserError, UserErrors, fail

NAME_MAX_LENGTH = 200


def parse_id(value: str, type_name: str, field: list[str], noun: str) -> uuid.UUID:
    """The uuid inside a global id of `type_name`; anything else is NOT_FOUND on `field`."""
    parsed = decode_id(value, type_name)
    if parsed is None:
        raise not_found(field, noun)
    return parsed


def not_found_error(field: list[str], noun: str) -> UserError:
    return UserError(field, UserErrorCode.NOT_FOUND, f"No {noun} with this id was found.")


def not_found(field: list[str], noun: str) -> UserErrors:
    return UserErrors([not_found_error(field, noun)])


def required_text(value: str, field: list[str], *, max_length: int = NAME_MAX_LENGTH) -> str:
    """`value` stripped; blank is REQUIRED, longer than `max_length` is TOO_LONG."""
    cleaned = value.strip()
    if not cleaned:
        raise fail(field, UserErrorCode.REQUIRED, f"{field[-1]} must not be blank.")
    if len(cleaned) > max_length:
        raise fail(
            field, UserErrorCode.TOO_LONG, f"{field[-1]} may be at most {max_length} characters."
        )
    return cleaned


def moment(value: datetime | None, name: str) -> datetime | None:
    """A point in time given as an argument, in UTC. One without a time zone, or beyond what a
    timestamp holds once in UTC, is a BAD_USER_INPUT error naming argument `name`."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise BadUserInput(f"{name} must include a time zone, e.g. 2026-12-01T00:00:00Z.")
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise BadUserInput(f"{name} is out of range.") from error


def search_text(text: str | None, maximum: int) -> str | None:
    """The text to search for, stripped; None when there is none. Longer than `maximum`
    characters is a top-level TOO_LONG error: a search is a query argument, and a pattern of
    megabytes is refused by SQLite ("LIKE pattern too complex") and slow everywhere."""
    if text is None or not text.strip():
        return None
    cleaned = text.strip()
    if len(cleaned) > maximum:
        raise TooLong(f"A search may be at most {maximum} characters; {len(cleaned)} were given.")
    return cleaned
