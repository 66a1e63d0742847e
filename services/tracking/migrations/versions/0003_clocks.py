"""tracking: the clock ledger, each dossier's replayed clock, alerts, recomputations.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "clock_entries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(60), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("event_type", sa.String(60), nullable=False),
        sa.Column("at", AT, nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("recorded_at", AT, nullable=False),
        sa.UniqueConstraint("dossier_code", "sequence"),
    )
    op.create_index("ix_clock_entries_dossier_code", "clock_entries", ["dossier_code"])
    op.create_table(
        "dossier_clocks",
        sa.Column("dossier_code", sa.String(60), primary_key=True),
        sa.Column("agency_code", sa.String(30), nullable=False),
        sa.Column("procedure_code", sa.String(40), nullable=False),
        sa.Column("field_code", sa.String(40)),
        sa.Column("channel", sa.String(20)),
        sa.Column("received_at", AT, nullable=False),
        sa.Column("budget_minutes", sa.Float()),
        sa.Column("time_unit", sa.String(20)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("due_at", AT),
        sa.Column("due_soon_at", AT),
        sa.Column("breached_at", AT),
        sa.Column("appointment_at", AT),
        sa.Column("supplement_requests", sa.Integer(), nullable=False),
        sa.Column("reappointed", sa.Boolean(), nullable=False),
        sa.Column("finished_at", AT),
        sa.Column("outcome", sa.String(20)),
        sa.Column("timeliness", sa.String(20)),
        sa.Column("used_minutes", sa.Float()),
        sa.Column("reused_documents", sa.Integer(), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("paid_online", sa.Boolean()),
        sa.Column("electronic_result", sa.Boolean()),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
    )
    for column in ("agency_code", "procedure_code", "received_at", "due_at", "finished_at"):
        op.create_index(f"ix_dossier_clocks_{column}", "dossier_clocks", [column])
    op.create_index("ix_dossier_clocks_status_agency", "dossier_clocks", ["status", "agency_code"])
    op.create_table(
        "clock_alerts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(60), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("due_at", AT, nullable=False),
        sa.Column("sent_at", AT, nullable=False),
        sa.UniqueConstraint("dossier_code", "kind", "due_at"),
    )
    op.create_table(
        "recomputations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("calendar_code", sa.String(40), nullable=False),
        sa.Column("calendar_version", sa.Integer(), nullable=False),
        sa.Column("dossier_code", sa.String(60), nullable=False),
        sa.Column("agency_code", sa.String(30), nullable=False),
        sa.Column("old_due_at", AT),
        sa.Column("new_due_at", AT),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recomputed_at", AT, nullable=False),
    )
    op.create_index(
        "ix_recomputations_change", "recomputations", ["calendar_code", "calendar_version"]
    )


def downgrade() -> None:
    op.drop_table("recomputations")
    op.drop_table("clock_alerts")
    op.drop_table("dossier_clocks")
    op.drop_table("clock_entries")
