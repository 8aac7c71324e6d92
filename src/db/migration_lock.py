"""The advisory lock under which one process at a time changes a PostgreSQL database's schema
or its app role: every worker of a server migrates when its database comes up, and two
concurrent GRANTs on one table fail ("tuple concurrently updated")."""

from sqlalchemy import TextClause, text

MIGRATION_LOCK = 0x6367_6D69
"""Any constant, the same in every process that migrates."""


def take_migration_lock() -> TextClause:
    """The statement that waits for the lock and holds it until the transaction ends."""
    return text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=MIGRATION_LOCK)
