"""tracking: whether an online dossier's applicant logged in with VNeID (indicator 4.5).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Clocks replayed before carried no such fact: not verified.
    # A plain ALTER TABLE: a batch would copy every clock into a new table on SQLite.
    op.add_column(
        "dossier_clocks",
        sa.Column("applicant_verified", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("dossier_clocks", "applicant_verified")
