"""tracking: working calendars with their days and versioned changes; agencies' calendars.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
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
        "calendars",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("parent_code", sa.String(40), sa.ForeignKey("calendars.code")),
        sa.Column("timezone", sa.String(60), nullable=False),
        sa.Column("week", sa.JSON()),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "calendar_days",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("calendar_code", sa.String(40), sa.ForeignKey("calendars.code"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(20)),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.UniqueConstraint("calendar_code", "day"),
    )
    op.create_index("ix_calendar_days_calendar_code", "calendar_days", ["calendar_code"])
    op.create_table(
        "calendar_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("calendar_code", sa.String(40), sa.ForeignKey("calendars.code"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_by", sa.String(100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.UniqueConstraint("calendar_code", "version"),
    )
    op.create_index("ix_calendar_changes_calendar_code", "calendar_changes", ["calendar_code"])
    op.create_table(
        "agencies",
        sa.Column("code", sa.String(30), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("calendar_code", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("agencies")
    op.drop_table("calendar_changes")
    op.drop_table("calendar_days")
    op.drop_table("calendars")
