"""procedures: agencies and the event tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.events.schema import create_event_tables, drop_event_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("code", sa.String(30), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("parent_code", sa.String(30), sa.ForeignKey("agencies.code"), nullable=True),
        sa.Column("address", sa.String(300), nullable=True),
    )
    op.create_index("ix_agencies_parent_code", "agencies", ["parent_code"])
    create_event_tables(op)


def downgrade() -> None:
    drop_event_tables(op)
    op.drop_index("ix_agencies_parent_code", table_name="agencies")
    op.drop_table("agencies")
