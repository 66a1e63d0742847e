"""notifications: the event tables, contacts and preferences, dossiers and officers as
the notices give them, and the messages.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.events.schema import create_event_tables, drop_event_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(*values: str) -> sa.Enum:
    return sa.Enum(*values, native_enum=False, length=20)


CHANNEL = ("inbox", "email", "sms", "zalo")
AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_event_tables(op)
    op.create_table(
        "contacts",
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("kind", _enum("email", "phone"), primary_key=True),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("verified_at", AT, nullable=True),
        sa.Column("code_hash", sa.String(64), nullable=True),
        sa.Column("code_expires_at", AT, nullable=True),
        sa.Column("code_tries_left", sa.Integer(), nullable=False),
        sa.Column("code_sent_at", AT, nullable=True),
        sa.Column("updated_at", AT, nullable=False),
    )
    op.create_table(
        "preferences",
        sa.Column("recipient", sa.String(80), primary_key=True),
        sa.Column("channel", _enum(*CHANNEL), primary_key=True),
        sa.Column("kind", sa.String(40), primary_key=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", AT, nullable=False),
    )
    op.create_table(
        "dossiers",
        sa.Column("code", sa.String(60), primary_key=True),
        sa.Column("agency_code", sa.String(30), nullable=False),
        sa.Column("procedure_name", sa.String(500), nullable=False),
        sa.Column("holder", sa.String(64), nullable=True),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column("appointment_at", AT, nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("alert", sa.String(20), nullable=True),
        sa.Column("alert_due_at", AT, nullable=True),
    )
    op.create_index("ix_dossiers_open_alerts", "dossiers", ["agency_code", "finished", "alert"])
    op.create_table(
        "officers",
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "officer_positions",
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("agency_code", sa.String(30), primary_key=True),
        sa.Column("position", sa.String(20), nullable=False),
    )
    op.create_index("ix_officer_positions_agency", "officer_positions", ["agency_code", "position"])
    op.create_table(
        "messages",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("recipient", sa.String(80), nullable=False),
        sa.Column("channel", _enum(*CHANNEL), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("template", sa.String(60), nullable=False),
        sa.Column("address", sa.String(254), nullable=True),
        sa.Column("subject", sa.String(300), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("dossier_code", sa.String(60), nullable=True),
        sa.Column("state", _enum("queued", "sent", "delivered", "failed"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", AT, nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("provider_ref", sa.String(100), nullable=True),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("sent_at", AT, nullable=True),
        sa.Column("delivered_at", AT, nullable=True),
        sa.Column("failed_at", AT, nullable=True),
        sa.Column("read_at", AT, nullable=True),
        sa.UniqueConstraint("event_id", "recipient", "channel", name="uq_messages_once"),
    )
    op.create_index("ix_messages_owed", "messages", ["state", "next_attempt_at"])
    op.create_index("ix_messages_inbox", "messages", ["recipient", "channel", "created_at"])
    op.create_table(
        "provider_cursors",
        sa.Column("provider", sa.String(40), primary_key=True),
        sa.Column("cursor", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "provider_cursors", "messages", "officer_positions", "officers", "dossiers",
        "preferences", "contacts",
    ):  # fmt: skip
        op.drop_table(table)
    drop_event_tables(op)
