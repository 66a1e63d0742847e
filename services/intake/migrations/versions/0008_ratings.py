"""intake: the citizen's rating of a returned dossier (indicator 5.c).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, not a batch: the queue-tally triggers on dossiers (0005) would not
# come along a SQLite batch's copy.


def upgrade() -> None:
    op.add_column("dossiers", sa.Column("rating_score", sa.Integer(), nullable=True))
    op.add_column("dossiers", sa.Column("rating_comment", sa.String(1000), nullable=True))
    op.add_column("dossiers", sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("dossiers", "rated_at")
    op.drop_column("dossiers", "rating_comment")
    op.drop_column("dossiers", "rating_score")
