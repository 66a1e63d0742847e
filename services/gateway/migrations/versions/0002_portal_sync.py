"""gateway: the national portal sync's state per dossier.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_sync",
        sa.Column("code", sa.String(60), primary_key=True),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("owed", sa.Boolean(), nullable=False),
        sa.Column("owed_since", sa.DateTime(timezone=True)),
        sa.Column("sent_version", sa.Integer(), nullable=False),
        sa.Column("sent_steps", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("dead_at", sa.DateTime(timezone=True)),
        sa.Column("synced_at", sa.DateTime(timezone=True)),
        sa.Column("lag_seconds", sa.Float()),
    )
    op.create_index(
        "ix_portal_sync_due",
        "portal_sync",
        ["next_attempt_at"],
        postgresql_where=sa.text("owed AND dead_at IS NULL"),
        sqlite_where=sa.text("owed AND dead_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_portal_sync_due", table_name="portal_sync")
    op.drop_table("portal_sync")
