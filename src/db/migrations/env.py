"""Alembic environment: async engines, batch mode so SQLite can alter tables."""

import asyncio

from alembic import context
from clientgraph.db.migration_lock import take_migration_lock
from clientgraph.db.models import Base
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

target_metadata = Base.metadata
CONNECT_TIMEOUT_S = 10


def run_with_connection(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(take_migration_lock())
        context.run_migrations()


async def run_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    connect_args = {} if url.startswith("sqlite") else {"timeout": CONNECT_TIMEOUT_S}
    engine = create_async_engine(url, connect_args=connect_args, hide_parameters=True)
    async with engine.connect() as connection:
        await connection.run_sync(run_with_connection)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        render_as_batch=True,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_online())
