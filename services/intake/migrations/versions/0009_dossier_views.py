"""intake: when officers opened a dossier (the citizen sees it).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dossier_views",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(60), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("position", sa.String(20), nullable=True),
        sa.Column("agency_code", sa.String(30), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_dossier_views_dossier_code", "dossier_views", ["dossier_code"])


def downgrade() -> None:
    op.drop_index("ix_dossier_views_dossier_code", table_name="dossier_views")
    op.drop_table("dossier_views")
