"""Custom fields the firm defines for accounts or contacts, and their values (seeds 003, 004).
Values are stored as normalised text: numbers as decimals, dates as ISO dates, booleans as
true/false, selections as one of the options."""

from __future__ import annotations

import decimal
import re
import uuid
from dataclasses import dataclass
from datetime import date

from clientgraph.db import models
from clientgraph.db.queries import fold
from clientgraph.db.rows import CustomFieldDefinitionRow
from clientgraph.resolvers import history
from clientgraph.resolvers.context import Context
from clientgraph.resolvers.enums import CustomFieldEntity, CustomFieldType, UserErrorCode
from clientgraph.resolvers.errors import UserErrors, fail
from clientgraph.resolvers.guards import (
    flush_unique,
    lock_account,
    lock_contact,
)
from clientgraph.resolvers.inputs import parse_id, required_text
from clientgraph.resolvers.policy import require_admin
from clientgraph.resolvers.validation import checking
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
NUMBER_PATTERN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,6})?$")
NUMBER_MAX_EXPONENT = 30
NUMBER_MAX_DIGITS = 40
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TEXT_MAX_LENGTH = 2000
OPTION_MAX_LENGTH = 100


@dataclass(frozen=True, slots=True)
class ValueInput:
    key: str
    value: str | None


def _clean_options(kind: CustomFieldType, options: list[str], maximum: int) -> list[str]:
    if kind != CustomFieldType.SELECT:
        if options:
            raise fail(["options"], UserErrorCode.INVALID, "Only SELECT fields take options.")
        return []
    cleaned = [option.strip() for option in options]
    if not cleaned:
        raise fail(["options"], UserErrorCode.REQUIRED, "A SELECT field needs options.")
    if len(cleaned) > maximum:
        message = f"A SELECT field may have at most {maximum} options; {len(cleaned)} were given."
        raise fail(["options"], UserErrorCode.TOO_LONG, message)
    with checking() as check:
        for index, option in enumerate(cleaned):
            if not option or len(option) > OPTION_MAX_LENGTH:
                message = f"An option must have 1 to {OPTION_MAX_LENGTH} characters."
                check.add(["options", str(index)], UserErrorCode.INVALID, message)
            elif option in cleaned[:index]:
                check.add(["options", str(index)], UserErrorCode.INVALID, "Listed twice.")
    return cleaned


async def _check_definition_room(
    session: AsyncSession, firm_id: uuid.UUID, entity: CustomFieldEntity, maximum: int
) -> None:
    """The firm's row is locked first, so two definitions cannot both take the last place."""
    await session.execute(select(models.Firm.id).where(models.Firm.id == firm_id).with_for_update())
    definition = models.CustomFieldDefinition
    defined = await session.scalar(
        select(func.count()).where(definition.firm_id == firm_id, definition.entity == entity.value)
    )
    if (defined or 0) >= maximum:
        raise fail(
            ["entity"],
            UserErrorCode.TOO_LONG,
            f"{entity.value} has {defined} custom fields; a firm may define at most {maximum}.",
        )


async def define_custom_field(
    ctx: Context,
    *,
    entity: CustomFieldEntity,
    key: str,
    label: str,
    type: CustomFieldType,
    options: list[str],
) -> CustomFieldDefinitionRow:
    require_admin(ctx.viewer)
    clean_key = key.strip()
    with checking() as check:
        if not KEY_PATTERN.match(clean_key):
            check.add(
                ["key"],
                UserErrorCode.INVALID,
                "A key is 1-50 lower-case letters, digits or _, starting with a letter.",
            )
        clean_label = check(required_text, label, ["label"])
        clean_options = check(_clean_options, type, options, ctx.lists.select_options)

    def key_taken() -> UserErrors:
        return fail(["key"], UserErrorCode.TAKEN, f"{entity.value} already has a field {key}.")

    async def work(session: AsyncSession) -> CustomFieldDefinitionRow:
        definition = models.CustomFieldDefinition
        taken = await session.scalars(
            select(definition.id).where(
                definition.firm_id == ctx.viewer.firm_id,
                definition.entity == entity.value,
                definition.key == clean_key,
            )
        )
        if taken.first() is not None:
            raise key_taken()
        await _check_definition_room(session, ctx.viewer.firm_id, entity, ctx.lists.custom_fields)
        row = definition(
            id=models.new_id(),
            firm_id=ctx.viewer.firm_id,
            entity=entity.value,
            key=clean_key,
            label=clean_label,
            label_folded=fold(clean_label),
            type=type.value,
            options=clean_options,
        )
        session.add(row)
        await flush_unique(session, "key", key_taken)
        history.record(
            session,
            ctx.viewer,
            subject_type="firm",
            subject_id=ctx.viewer.firm_id,
            action="custom_field.defined",
            changes=history.changes_between(
                {},
                {
                    "entity": entity.value,
                    "key": clean_key,
                    "label": clean_label,
                    "type": type.value,
                    "options": clean_options or None,
                },
            ),
        )
        return CustomFieldDefinitionRow(
            row.id, row.entity, row.key, row.label, row.type, list(row.options)
        )

    return await ctx.write(work)


def normalise_value(kind: str, options: list[str], raw: str) -> str:
    """The stored text of `raw` for a field of type `kind`; ValueError says why it does not fit."""
    text = raw.strip()
    match CustomFieldType(kind):
        case CustomFieldType.TEXT:
            if len(raw) > TEXT_MAX_LENGTH:
                raise ValueError(f"At most {TEXT_MAX_LENGTH} characters.")
            return raw
        case CustomFieldType.NUMBER:
            if not NUMBER_PATTERN.match(text):
                raise ValueError("Not a number (digits, optional sign, point and exponent).")
            number = decimal.Decimal(text)
            if number != 0 and abs(number.adjusted()) > NUMBER_MAX_EXPONENT:
                raise ValueError(
                    f"Out of range (10^-{NUMBER_MAX_EXPONENT} to 10^{NUMBER_MAX_EXPONENT})."
                )
            if len(number.as_tuple().digits) > NUMBER_MAX_DIGITS:
                raise ValueError(f"At most {NUMBER_MAX_DIGITS} significant digits.")
            exact = number.normalize(decimal.Context(prec=NUMBER_MAX_DIGITS))
            return format(exact, "f") if number != 0 else "0"
        case CustomFieldType.DATE:
            if not DATE_PATTERN.match(text):
                raise ValueError("Not a date (YYYY-MM-DD).")
            try:
                return date.fromisoformat(text).isoformat()
            except ValueError as error:
                raise ValueError("Not a date (YYYY-MM-DD).") from error
        case CustomFieldType.BOOLEAN:
            if text.lower() not in ("true", "false"):
                raise ValueError("Not true or false.")
            return text.lower()
        case CustomFieldType.SELECT:
            if text not in options:
                raise ValueError(f"Not one of: {', '.join(options)}.")
            return text


async def _apply_values(
    session: AsyncSession,
    ctx: Context,
    subject: models.Account | models.Contact,
    entity: CustomFieldEntity,
    values: list[ValueInput],
) -> None:
    definition, stored = models.CustomFieldDefinition, models.CustomFieldValue
    definitions = {
        row.key: row
        for row in await session.scalars(
            select(definition).where(
                definition.firm_id == ctx.viewer.firm_id, definition.entity == entity.value
            )
        )
    }
    current = {
        row.definition_id: row
        for row in await session.scalars(
            select(stored).where(stored.firm_id == subject.firm_id, stored.subject_id == subject.id)
        )
    }
    wanted: dict[str, tuple[models.CustomFieldDefinition, str | None]] = {}
    with checking() as check:
        for index, item in enumerate(values):
            where = ["values", str(index)]
            if any(earlier.key == item.key for earlier in values[:index]):
                check.add([*where, "key"], UserErrorCode.INVALID, f"{item.key!r} is given twice.")
                continue
            found = definitions.get(item.key)
            if found is None:
                message = f"No {entity.value.lower()} custom field has the key {item.key!r}."
                check.add([*where, "key"], UserErrorCode.NOT_FOUND, message)
                continue
            try:
                value = (
                    None
                    if item.value is None
                    else normalise_value(found.type, found.options, item.value)
                )
            except ValueError as error:
                check.add([*where, "value"], UserErrorCode.INVALID, str(error))
                continue
            wanted[item.key] = (found, value)
    changes = []
    for key, (found, value) in wanted.items():
        existing = current.get(found.id)
        before = existing.value if existing else None
        if before == value:
            continue
        changes.append(history.Change(f"customFields.{key}", before, value))
        if existing is not None and value is None:
            await session.delete(existing)
        elif existing is not None:
            existing.value = value  # type: ignore[assignment]
        else:
            session.add(
                stored(
                    firm_id=subject.firm_id,
                    definition_id=found.id,
                    subject_id=subject.id,
                    value=value,
                )
            )
    if changes:
        kind = "account" if entity == CustomFieldEntity.ACCOUNT else "contact"
        history.record_change(
            session, ctx.viewer, subject, f"{kind}.custom_fields_changed", changes
        )


async def set_custom_field_values(
    ctx: Context, *, account_id: str | None, contact_id: str | None, values: list[ValueInput]
) -> tuple[CustomFieldEntity, uuid.UUID]:
    """Set (null: clear) values of one account's or contact's custom fields, all or none."""
    if (account_id is None) == (contact_id is None):
        raise fail(
            ["accountId"], UserErrorCode.REQUIRED, "Give exactly one of accountId or contactId."
        )
    if account_id is not None:
        entity = CustomFieldEntity.ACCOUNT
        subject_id = parse_id(account_id, "Account", ["accountId"], "account")
    else:
        assert contact_id is not None
        entity = CustomFieldEntity.CONTACT
        subject_id = parse_id(contact_id, "Contact", ["contactId"], "contact")

    async def work(session: AsyncSession) -> None:
        subject: models.Account | models.Contact
        if entity == CustomFieldEntity.ACCOUNT:
            subject = await lock_account(session, ctx.viewer, subject_id, ["accountId"])
        else:
            subject = await lock_contact(session, ctx.viewer, subject_id, ["contactId"])
        await _apply_values(session, ctx, subject, entity, values)

    await ctx.write(work)
    return entity, subject_id


async def delete_custom_values(
    session: AsyncSession, firm_id: uuid.UUID, subject_id: uuid.UUID
) -> None:
    """Values go with their account or contact (they have no foreign key to cascade)."""
    await session.execute(
        delete(models.CustomFieldValue).where(
            models.CustomFieldValue.firm_id == firm_id,
            models.CustomFieldValue.subject_id == subject_id,
        )
    )
