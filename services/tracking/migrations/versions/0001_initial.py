"""tracking: the event tables (outbox, processed events).

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

from shared.events.schema import create_event_tables, drop_event_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_event_tables(op)


def downgrade() -> None:
    drop_event_tables(op)
