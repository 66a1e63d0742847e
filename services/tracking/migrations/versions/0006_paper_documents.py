"""tracking: how many of a dossier's components were only on paper (indicator 4.2).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Clocks replayed before carried no such fact: none counted on paper. A plain ALTER
    # TABLE: a batch would copy every clock into a new table on SQLite.
    op.add_column(
        "dossier_clocks",
        sa.Column("paper_documents", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("dossier_clocks", "paper_documents")
