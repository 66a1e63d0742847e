"""tracking: the citizen's rating of a finished dossier (indicator 5.c).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER TABLE: a batch would copy every clock into a new table on SQLite.
    op.add_column("dossier_clocks", sa.Column("rating", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("dossier_clocks", "rating")
