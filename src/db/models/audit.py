"""The history of changes, and the commit order its firm-wide feed reads
(`resolvers.audit_feed`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from clientgraph.db.models.base import Base, new_id, utcnow
from sqlalchemy import BigInteger, ForeignKeyConstraint, Index, String, UniqueConstraint, Uuid
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


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
