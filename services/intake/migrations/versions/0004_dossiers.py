"""intake: dossiers and idempotency keys.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "dossiers",
        sa.Column("code", sa.String(60), primary_key=True),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("audit_sequence", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("procedure_code", sa.String(40), nullable=False),
        sa.Column("procedure_version", sa.Integer(), nullable=False),
        sa.Column("procedure_name", sa.String(500), nullable=False),
        sa.Column("field_code", sa.String(40), nullable=False),
        sa.Column("agency_code", sa.String(30), nullable=False),
        sa.Column("receiving_agency_code", sa.String(30), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("applicant", sa.String(64)),
        sa.Column("submitted_by", sa.String(64), nullable=False),
        sa.Column("applicant_data", sa.JSON(), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("fees", sa.JSON(), nullable=False),
        sa.Column("fee_total_vnd", sa.Integer()),
        sa.Column("assignee", sa.String(64)),
        sa.Column("time_limit", sa.JSON()),
        sa.Column("supplement_policy", sa.String(10), nullable=False),
        sa.Column("budget_minutes", sa.Float()),
        sa.Column("pauses", sa.JSON(), nullable=False),
        _instant("submitted_at", nullable=False),
        _instant("received_at"),
        _instant("due_at"),
        _instant("due_soon_at"),
        sa.Column("calendar_code", sa.String(40)),
        sa.Column("calendar_version", sa.Integer()),
        _instant("appointment_at"),
        sa.Column("supplement_requests", sa.Integer(), nullable=False),
        sa.Column("counted_late", sa.String(40)),
        _instant("finished_at"),
        sa.Column("timeliness", sa.String(10)),
        sa.Column("pending_request", sa.JSON()),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("result_documents", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text()),
        _instant("updated_at", nullable=False),
    )
    op.create_index("ix_dossiers_queue", "dossiers", ["agency_code", "due_at", "code"])
    op.create_index(
        "ix_dossiers_queue_status",
        "dossiers",
        ["agency_code", "status", "due_at", "code"],
        postgresql_include=["due_soon_at"],
    )
    op.create_index(
        "ix_dossiers_receiving", "dossiers", ["receiving_agency_code", "due_at", "code"]
    )
    op.create_index("ix_dossiers_applicant", "dossiers", ["applicant", "submitted_at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("caller", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer()),
        sa.Column("response", sa.JSON()),
        _instant("created_at", nullable=False),
        _instant("locked_until", nullable=False),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("dossiers")
