"""Opaque global ids: base64 of "TypeName:uuid", the Relay format Strawberry's `Node` emits."""

from __future__ import annotations

import base64
import binascii
import uuid


def encode_id(type_name: str, value: uuid.UUID) -> str:
    return base64.b64encode(f"{type_name}:{value}".encode()).decode()


def decode_any_id(global_id: str) -> tuple[str, uuid.UUID] | None:
    """The type name and uuid inside a global id, or None if it is not one of ours.

    Only the exact text `encode_id` gives is an id: `uuid.UUID` also reads upper case, braces,
    missing dashes and `urn:uuid:`, and base64 has several spellings of the same bytes, so a
    decoded id counts only if it encodes back to the text asked for. One object then has one
    id, and `node(id).id` is always the id that was asked for.
    """
    try:
        decoded = base64.b64decode(global_id.encode(), validate=True).decode()
        type_name, _, raw = decoded.partition(":")
        value = uuid.UUID(raw)
    except (binascii.Error, UnicodeError, ValueError):
        return None
    if encode_id(type_name, value) != global_id:
        return None
    return type_name, value


def decode_id(global_id: str, type_name: str) -> uuid.UUID | None:
    """The uuid of a global id of `type_name`, or None if malformed or of another type."""
    decoded = decode_any_id(global_id)
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]
