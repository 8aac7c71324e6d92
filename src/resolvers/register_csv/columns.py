"""The register's CSV columns (API.md §9), shared by export and import: one row per
account-contact link, an account without contacts one row with empty contact columns."""

from __future__ import annotations

ACCOUNT_COLUMNS = ("name", "customer_number", "type", "status", "tags", "owner")
CONTACT_COLUMNS = (
    "contact_first_name",
    "contact_last_name",
    "contact_email",
    "contact_phone",
    "contact_country",
    "contact_roles",
    "contact_description",
)
FIXED_COLUMNS = ACCOUNT_COLUMNS + CONTACT_COLUMNS
CUSTOM_FIELD_PREFIX = "cf:"
LIST_SEPARATOR = "|"
"""Between the items of `tags` and `contact_roles`."""


def custom_field_column(key: str) -> str:
    return CUSTOM_FIELD_PREFIX + key


def header(custom_field_keys: list[str]) -> list[str]:
    return [*FIXED_COLUMNS, *(custom_field_column(key) for key in custom_field_keys)]


def joined(items: list[str]) -> str:
    return LIST_SEPARATOR.join(items)
