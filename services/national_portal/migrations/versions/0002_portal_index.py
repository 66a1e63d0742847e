"""national_portal: procedures, the index's columns, progress steps.

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
        "portal_procedures",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(500), nullable=False),
    )
    with op.batch_alter_table("portal_dossiers") as table:
        table.add_column(sa.Column("status", sa.Integer(), server_default="1", nullable=False))
        table.add_column(
            sa.Column("procedure_code", sa.String(40), server_default="", nullable=False)
        )
        table.add_column(sa.Column("due_at", sa.DateTime(timezone=True)))
        table.add_column(sa.Column("finished_at", sa.DateTime(timezone=True)))
        table.add_column(sa.Column("supplements", sa.Integer(), server_default="0", nullable=False))
        table.add_column(sa.Column("received", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "portal_progress",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ma_ho_so", sa.String(40), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("content", sa.String(2000), nullable=False),
        sa.Column("handler", sa.String(200), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.UniqueConstraint("ma_ho_so", "at", "status", "content"),
    )


def downgrade() -> None:
    op.drop_table("portal_progress")
    with op.batch_alter_table("portal_dossiers") as table:
        for column in ("received", "supplements", "finished_at", "due_at", "procedure_code",
                       "status"):  # fmt: skip
            table.drop_column(column)
    op.drop_table("portal_procedures")
