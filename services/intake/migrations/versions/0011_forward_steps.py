"""intake: inter-agency steps indexed by their agency, for its queue of forwarded dossiers.

Each step forwarded before this revision is copied in as still open, without a due date
(its budget was never turned into one): the agency it went to now sees it and answers it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import json
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("completed_at IS NULL")


def upgrade() -> None:
    steps = op.create_table(
        "forward_steps",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(60), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("agency_code", sa.String(30), nullable=False),
        sa.Column("forwarded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=True),
        sa.UniqueConstraint("dossier_code", "number"),
    )
    op.create_index(
        "ix_forward_steps_open", "forward_steps", ["agency_code", "due_at"],
        postgresql_where=OPEN, sqlite_where=OPEN,
    )  # fmt: skip
    op.create_index("ix_forward_steps_completed", "forward_steps", ["agency_code", "completed_at"])
    bind = op.get_bind()
    found = bind.execute(
        sa.text("SELECT code, steps FROM dossiers WHERE CAST(steps AS TEXT) NOT IN ('[]', 'null')")
    )
    rows = []
    for code, raw in found:
        listed = json.loads(raw) if isinstance(raw, str) else raw
        for number, step in enumerate(listed or [], start=1):
            rows.append({
                "dossier_code": code, "number": number, "agency_code": step["agency_code"],
                "forwarded_at": datetime.fromisoformat(step["forwarded_at"]),
            })  # fmt: skip
    if rows:
        op.bulk_insert(steps, rows)


def downgrade() -> None:
    op.drop_index("ix_forward_steps_completed", table_name="forward_steps")
    op.drop_index("ix_forward_steps_open", table_name="forward_steps")
    op.drop_table("forward_steps")
