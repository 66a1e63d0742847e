"""The outbox and inbox tables as Alembic operations, for each service's first migration.

This is version 1 of those tables and must never change: a later change to them is a
new migration in each service, so that migrations already applied stay true.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def create_event_tables(op: Any) -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("event_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("topic", sa.String(50), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )
    unpublished = sa.text("published_at IS NULL")
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        postgresql_where=unpublished,
        sqlite_where=unpublished,
    )
    op.create_table(
        "processed_events",
        sa.Column("consumer_group", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
    )


def drop_event_tables(op: Any) -> None:
    op.drop_table("processed_events")
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.drop_table("outbox")
