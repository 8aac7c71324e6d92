"""Typed SQLAlchemy models: the write side (ORM unit of work) and the table definitions.

Every table carries `firm_id`, and it is the first column of every unique index and of every
foreign key that crosses tables, so tenants stay apart and tables can be distributed by firm.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class TransactionOrder(FunctionElement[int]):
    """A BIGINT written as `postgresql` on PostgreSQL and as `sqlite` elsewhere."""

    type = BigInteger()
    inherit_cache = True
    postgresql: ClassVar[str]
    sqlite: ClassVar[str]


@compiles(TransactionOrder, "postgresql")
def _transaction_order_postgresql(
    element: TransactionOrder, compiler: SQLCompiler, **kw: Any
) -> str:
    return element.postgresql


@compiles(TransactionOrder)
def _transaction_order_sqlite(element: TransactionOrder, compiler: SQLCompiler, **kw: Any) -> str:
    return element.sqlite


class WritingTransaction(TransactionOrder):
    """The order in which the transaction that writes a row commits, against every other
    writing transaction: on PostgreSQL its transaction id (a transaction still running always
    has an id at or above the `xmin` of any snapshot taken meanwhile); on SQLite, where one
    writer holds the database from its first write to its commit, one past the highest
    order written so far."""

    inherit_cache = True
    name = "writing_transaction"
    postgresql = "CAST(CAST(pg_current_xact_id() AS TEXT) AS BIGINT)"
    sqlite = "(SELECT coalesce(max(transaction_order), 0) + 1 FROM audit_events)"


class OldestRunningTransaction(TransactionOrder):
    """The `WritingTransaction` order below which every writing transaction has ended: on
    PostgreSQL the `xmin` of the current snapshot; on SQLite, whose readers see only what
    committed while no writer can commit out of order, the largest order there is."""

    inherit_cache = True
    name = "oldest_running_transaction"
    postgresql = "CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS TEXT) AS BIGINT)"
    sqlite = "9223372036854775807"


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware.

    SQLite keeps no time zone, so values are normalised to naive UTC on the way in and
    given back their UTC zone on the way out; PostgreSQL stores `timestamptz`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def folded() -> Text:
    """A casefolded copy of text people search and sort by. Unbounded, since folding can make
    text longer (ß → ss). On PostgreSQL it compares by code point (collation "C"), as SQLite
    does, so both order it the same whatever the locale."""
    return Text().with_variant(Text(collation="C"), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


def firm_fk(columns: list[str], table: str, *, ondelete: str | None = None) -> ForeignKeyConstraint:
    """A tenant-safe foreign key: (firm_id, <id>) references (firm_id, id) of `table`."""
    return ForeignKeyConstraint(
        ["firm_id", *columns], [f"{table}.firm_id", f"{table}.id"], ondelete=ondelete
    )


class Firm(Base):
    __tablename__ = "firms"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    client_ownership_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_number_min_length: Mapped[int | None] = mapped_column(Integer)
    customer_number_max_length: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def firm_id(self) -> uuid.UUID:
        return self.id


class User(Base):
    """A member of the firm's staff. Deleted users stay as rows so history keeps their name."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        ForeignKeyConstraint(["firm_id"], ["firms.id"], ondelete="CASCADE"),
        Index(
            "uq_users_firm_id_email_folded_live",
            "firm_id",
            "email_folded",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_users_firm_id_name_folded_id", "firm_id", "name_folded", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(folded())
    email: Mapped[str] = mapped_column(String(320))
    email_folded: Mapped[str] = mapped_column(folded())
    role: Mapped[str] = mapped_column(String(20))
    permissions: Mapped[list[Any]] = mapped_column(default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()
    password_hash: Mapped[str | None] = mapped_column(
        String(200), doc="argon2id; null until the user sets a password."
    )


class ClientOwner(Base):
    """An entry of the firm's address book of client owners: a user, or a name only."""

    __tablename__ = "client_owners"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        UniqueConstraint("firm_id", "user_id"),
        ForeignKeyConstraint(["firm_id"], ["firms.id"], ondelete="CASCADE"),
        firm_fk(["user_id"], "users"),
        Index("ix_client_owners_firm_id_name_folded_id", "firm_id", "name_folded", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(folded())
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        UniqueConstraint("firm_id", "customer_number"),
        ForeignKeyConstraint(["firm_id"], ["firms.id"], ondelete="CASCADE"),
        firm_fk(["owner_id"], "client_owners"),
        Index("ix_accounts_firm_id_name_folded_id", "firm_id", "name_folded", "id"),
        Index("ix_accounts_firm_id_owner_id", "firm_id", "owner_id"),
        Index("ix_accounts_firm_id_created_at_id", "firm_id", "created_at", "id"),
        Index("ix_accounts_firm_id_updated_at_id", "firm_id", "updated_at", "id"),
        Index(
            "ix_accounts_firm_id_customer_number_folded_id",
            "firm_id",
            "customer_number_folded",
            "id",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(300))
    name_folded: Mapped[str] = mapped_column(folded())
    customer_number: Mapped[str | None] = mapped_column(String(100))
    customer_number_folded: Mapped[str | None] = mapped_column(folded())
    type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="ACTIVE")
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountTag(Base):
    __tablename__ = "account_tags"
    __table_args__ = (firm_fk(["account_id"], "accounts", ondelete="CASCADE"),)

    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)


class AccountTeamMember(Base):
    __tablename__ = "account_team_members"
    __table_args__ = (
        firm_fk(["account_id"], "accounts", ondelete="CASCADE"),
        firm_fk(["user_id"], "users"),
        Index("ix_account_team_members_firm_id_user_id", "firm_id", "user_id"),
    )

    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        ForeignKeyConstraint(["firm_id"], ["firms.id"], ondelete="CASCADE"),
        Index(
            "ix_contacts_firm_id_last_name_folded_first_name_folded_id",
            "firm_id",
            "last_name_folded",
            "first_name_folded",
            "id",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    last_name_folded: Mapped[str] = mapped_column(folded())
    first_name_folded: Mapped[str] = mapped_column(folded())
    search_folded: Mapped[str] = mapped_column(folded())
    phone: Mapped[str | None] = mapped_column(String(32))
    portal_access: Mapped[str] = mapped_column(String(20), default="NONE")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()


class ContactEmail(Base):
    """A contact's email addresses; position 0 is the primary one."""

    __tablename__ = "contact_emails"
    __table_args__ = (
        firm_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        UniqueConstraint("firm_id", "contact_id", "position"),
        Index("ix_contact_emails_firm_id_email_folded", "firm_id", "email_folded"),
    )

    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    email_folded: Mapped[str] = mapped_column(folded(), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    position: Mapped[int] = mapped_column(Integer)


class PortalInvitation(Base):
    """A one-time link to the client portal, e-mailed to one of the contact's addresses. Only
    a SHA-256 of its secret is kept. It is spent when accepted (`used_at`), void when a newer
    invitation replaces it or access is revoked (`voided_at`), and dead after `expires_at`."""

    __tablename__ = "portal_invitations"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        firm_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        Index("ix_portal_invitations_firm_id_contact_id", "firm_id", "contact_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    contact_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    email: Mapped[str] = mapped_column(String(320))
    token_hash: Mapped[str] = mapped_column(String(64))
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    voided_at: Mapped[datetime | None] = mapped_column()


class PortalCredential(Base):
    """How a contact signs in to the client portal: the address they accepted the invitation
    at, and an argon2id hash of their password. At most one per contact, and an address signs
    in to at most one contact of a firm. `id` is new each time the credential is made, and
    portal tokens name it: revoking access (which deletes the row) ends every token at once."""

    __tablename__ = "portal_credentials"
    __table_args__ = (
        firm_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        UniqueConstraint("id"),
        UniqueConstraint("firm_id", "email_folded"),
        Index("ix_portal_credentials_email_folded", "email_folded"),
    )

    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, default=new_id)
    email: Mapped[str] = mapped_column(String(320))
    email_folded: Mapped[str] = mapped_column(folded())
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountContact(Base):
    """The link between an account and a contact; its description and roles belong to it."""

    __tablename__ = "account_contacts"
    __table_args__ = (
        firm_fk(["account_id"], "accounts", ondelete="CASCADE"),
        firm_fk(["contact_id"], "contacts", ondelete="CASCADE"),
        Index("ix_account_contacts_firm_id_contact_id", "firm_id", "contact_id"),
    )

    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    description: Mapped[str | None] = mapped_column(String(500))
    is_commercial: Mapped[bool] = mapped_column(Boolean, default=False)
    is_operational: Mapped[bool] = mapped_column(Boolean, default=False)
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """One change made by someone. Subject ids carry no foreign key: history outlives rows."""

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        ForeignKeyConstraint(["firm_id"], ["firms.id"], ondelete="CASCADE"),
        Index(
            "ix_audit_events_firm_id_subject_id_occurred_at_id",
            "firm_id",
            "subject_id",
            "occurred_at",
            "id",
        ),
        Index(
            "ix_audit_events_firm_id_transaction_order_occurred_at_id",
            "firm_id",
            "transaction_order",
            "occurred_at",
            "id",
        ),
        Index("ix_audit_events_transaction_order", "transaction_order"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    action: Mapped[str] = mapped_column(String(80))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_name: Mapped[str | None] = mapped_column(String(200))
    actor_api_key_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, doc="The API key the actor (its creator) made the change through, if any."
    )
    related_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, doc="Another object the event names (e.g. the account of a contact's link)."
    )
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    changes: Mapped[list[Any]] = mapped_column(default=list)
    transaction_order: Mapped[int] = mapped_column(
        BigInteger,
        default=WritingTransaction(),
        server_default="0",
        doc="Where the writing transaction falls in commit order, for the firm-wide feed "
        "(`resolvers.audit_feed`): 0 for events recorded before the feed existed.",
    )


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        firm_fk(["user_id"], "users"),
        Index(
            "ix_notifications_firm_id_user_id_created_at_id",
            "firm_id",
            "user_id",
            "created_at",
            "id",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(80))
    message: Mapped[str] = mapped_column(Text)
    account_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()


class OutboxEvent(Base):
    """A message to deliver after commit, written in the same transaction as its cause.

    QUEUED until the relay sends it (SENT at `delivered_at`) or gives up after its attempts
    (FAILED, with `last_error`). `next_attempt_at` is when a queued row is next due: after a
    failure its backoff, while a relay sends it the relay's lease."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        ForeignKeyConstraint(["firm_id"], ["firms.id"], ondelete="CASCADE"),
        Index("ix_outbox_events_firm_id_created_at", "firm_id", "created_at"),
        Index(
            "ix_outbox_events_firm_id_next_attempt_at_queued",
            "firm_id",
            "next_attempt_at",
            sqlite_where=text("status = 'QUEUED'"),
            postgresql_where=text("status = 'QUEUED'"),
        ),
        Index("ix_outbox_events_firm_id_status_created_at", "firm_id", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(80))
    recipient: Mapped[str] = mapped_column(String(320))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="QUEUED", server_default="QUEUED")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        default=utcnow, server_default=text("CURRENT_TIMESTAMP")
    )
    last_attempt_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    last_response_code: Mapped[int | None] = mapped_column(Integer)
    """The HTTP status the receiver answered the last attempt with (webhooks)."""


class CustomFieldDefinition(Base):
    """A field the firm defines for its accounts or its contacts."""

    __tablename__ = "custom_field_definitions"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        UniqueConstraint("firm_id", "entity", "key"),
        ForeignKeyConstraint(["firm_id"], ["firms.id"], ondelete="CASCADE"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    entity: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(50))
    label: Mapped[str] = mapped_column(String(200))
    label_folded: Mapped[str] = mapped_column(folded())
    type: Mapped[str] = mapped_column(String(20))
    options: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomFieldValue(Base):
    """The value of a custom field for one account or contact, as normalised text. Subjects
    carry no foreign key (they are of two kinds); deleting a subject deletes its values."""

    __tablename__ = "custom_field_values"
    __table_args__ = (
        firm_fk(["definition_id"], "custom_field_definitions", ondelete="CASCADE"),
        Index("ix_custom_field_values_firm_id_subject_id", "firm_id", "subject_id"),
    )

    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    definition_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ApiKey(Base):
    """A partner API key: a principal of its own, holding exactly `permissions` (never a role),
    made by a user of the firm (`created_by_id`) whose assigned accounts bound its
    `…ASSIGNED…` rights. Only a hash of its secret is kept."""

    __tablename__ = "api_keys"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        firm_fk(["created_by_id"], "users"),
        Index("ix_api_keys_firm_id_created_by_id", "firm_id", "created_by_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_by_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(200))
    permissions: Mapped[list[Any]] = mapped_column(default=list)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class Webhook(Base):
    """A partner's endpoint and the events it hears of. `secret` signs every delivery; after a
    rotation `previous_secret` signs too, until `previous_secret_expires_at`."""

    __tablename__ = "webhooks"
    __table_args__ = (
        ForeignKeyConstraint(["firm_id"], ["firms.id"], ondelete="CASCADE"),
        UniqueConstraint("firm_id", "id"),
        Index("ix_webhooks_firm_id_created_at", "firm_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500), default="")
    events: Mapped[list[Any]] = mapped_column(default=list)
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RefreshToken(Base):
    """One refresh token of a sign-in. Each refresh spends the token (`rotated_at`) and issues
    the next one of the same `family_id`; presenting a spent token again revokes the whole
    family. Only a SHA-256 of the token is kept."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        UniqueConstraint("token_hash"),
        firm_fk(["user_id"], "users", ondelete="CASCADE"),
        Index("ix_refresh_tokens_firm_id_family_id", "firm_id", "family_id"),
        Index("ix_refresh_tokens_firm_id_user_id", "firm_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    token_hash: Mapped[str] = mapped_column(String(64))
    session_started_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    rotated_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class PasswordToken(Base):
    """A one-time set-password link. The database keeps no form of the link's secret: the link
    carries this row's id signed with the server's secret (`resolvers.credentials`)."""

    __tablename__ = "password_tokens"
    __table_args__ = (
        UniqueConstraint("firm_id", "id"),
        firm_fk(["user_id"], "users", ondelete="CASCADE"),
        Index("ix_password_tokens_firm_id_user_id", "firm_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    purpose: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    voided_at: Mapped[datetime | None] = mapped_column()


class IdempotencyKey(Base):
    """A caller's `Idempotency-Key` on a mutation (web/idempotency.py): claimed IN_PROGRESS by
    the INSERT that wins the primary key, then DONE with the answer to replay until
    `expires_at`. `principal` is who sent it within the firm (`user:<id>`, `key:<id>`)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        ForeignKeyConstraint(["firm_id"], ["firms.id"], ondelete="CASCADE"),
        Index("ix_idempotency_keys_firm_id_expires_at", "firm_id", "expires_at"),
    )

    firm_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    principal: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
