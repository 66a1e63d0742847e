"""procedures: the calendar an agency follows, and the procedures its desk offers.

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


def upgrade() -> None:
    with op.batch_alter_table("agencies") as batch:
        batch.add_column(
            sa.Column("calendar_code", sa.String(40), nullable=False, server_default="national")
        )
    op.create_table(
        "agency_procedures",
        sa.Column("agency_code", sa.String(30), sa.ForeignKey("agencies.code"), primary_key=True),
        sa.Column(
            "procedure_code", sa.String(40), sa.ForeignKey("procedures.code"), primary_key=True
        ),
    )
    op.create_index("ix_agency_procedures_procedure_code", "agency_procedures", ["procedure_code"])


def downgrade() -> None:
    op.drop_table("agency_procedures")
    with op.batch_alter_table("agencies") as batch:
        batch.drop_column("calendar_code")
