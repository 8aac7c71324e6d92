"""API keys become principals of their own

A key no longer acts as a user: it holds a list of permissions, names the user who made it
(`created_by_id`), may expire, and records when it was last used. Audit events name the key a
change was made through (`actor_api_key_id`).

Existing keys keep working with the rights of the user they acted as, capped to what a STAFF
user can hold: that user's effective permissions as a list (every permission for an OWNER or
ADMIN), never their role; that user becomes the key's creator.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 21:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here rather than imported: a migration must mean the same thing after the enum changes.
EVERY_PERMISSION = (
    "VIEW_ALL_ACCOUNTS",
    "VIEW_ASSIGNED_ACCOUNTS",
    "EDIT_ALL_ACCOUNTS",
    "EDIT_ASSIGNED_ACCOUNTS",
    "CREATE_ACCOUNTS",
    "DELETE_ACCOUNTS",
    "IMPORT_ACCOUNTS",
    "ASSIGN_ACCOUNTS",
    "CREATE_CLIENT_USERS",
    "EDIT_CLIENT_USER_RIGHTS",
    "DELETE_CLIENT_USERS",
)
ADMIN_ROLES = ("OWNER", "ADMIN")

api_keys = sa.table(
    "api_keys",
    sa.column("firm_id", sa.Uuid()),
    sa.column("user_id", sa.Uuid()),
    sa.column("created_by_id", sa.Uuid()),
    sa.column("permissions", sa.JSON()),
)
users = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    sa.column("firm_id", sa.Uuid()),
    sa.column("role", sa.String()),
    sa.column("permissions", sa.JSON()),
)


def effective_permissions(role: str, granted: Any) -> list[str]:
    """What the user could do, as a list of permissions in their canonical order."""
    held = set(EVERY_PERMISSION) if role in ADMIN_ROLES else set(granted or ())
    return [permission for permission in EVERY_PERMISSION if permission in held]


def fill_from_the_users_keys_acted_as() -> None:
    bind = op.get_bind()
    holders = bind.execute(
        sa.select(users.c.firm_id, users.c.id, users.c.role, users.c.permissions)
        .where(
            sa.exists().where(
                api_keys.c.firm_id == users.c.firm_id, api_keys.c.user_id == users.c.id
            )
        )
        .order_by(users.c.firm_id, users.c.id)
    ).all()
    if holders:
        bind.execute(
            api_keys.update()
            .where(
                api_keys.c.firm_id == sa.bindparam("holder_firm_id"),
                api_keys.c.user_id == sa.bindparam("holder_id"),
            )
            .values(permissions=sa.bindparam("holder_permissions", type_=sa.JSON())),
            [
                {
                    "holder_firm_id": firm_id,
                    "holder_id": user_id,
                    "holder_permissions": effective_permissions(role, granted),
                }
                for firm_id, user_id, role, granted in holders
            ],
        )
    bind.execute(api_keys.update().values(created_by_id=api_keys.c.user_id))


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("permissions", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))

    fill_from_the_users_keys_acted_as()

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column("created_by_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.alter_column("permissions", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_index("ix_api_keys_firm_id_user_id")
        batch_op.drop_constraint("fk_api_keys_firm_id_user_id_users", type_="foreignkey")
        batch_op.drop_column("user_id")
        batch_op.create_foreign_key(
            op.f("fk_api_keys_firm_id_created_by_id_users"),
            "users",
            ["firm_id", "created_by_id"],
            ["firm_id", "id"],
        )
        batch_op.create_index(
            "ix_api_keys_firm_id_created_by_id", ["firm_id", "created_by_id"], unique=False
        )

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor_api_key_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    """Back to keys that act as a user: each key acts as its creator again, with all of the
    creator's rights, so downgrading widens what keys made since the upgrade may do."""
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("actor_api_key_id")

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Uuid(), nullable=True))

    op.get_bind().execute(api_keys.update().values(user_id=api_keys.c.created_by_id))

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_index("ix_api_keys_firm_id_created_by_id")
        batch_op.drop_constraint(
            op.f("fk_api_keys_firm_id_created_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("created_by_id")
        batch_op.drop_column("permissions")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("last_used_at")
        batch_op.create_foreign_key(
            op.f("fk_api_keys_firm_id_user_id_users"),
            "users",
            ["firm_id", "user_id"],
            ["firm_id", "id"],
        )
        batch_op.create_index("ix_api_keys_firm_id_user_id", ["firm_id", "user_id"], unique=False)
