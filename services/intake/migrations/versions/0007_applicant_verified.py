"""intake: whether an online dossier's applicant logged in with VNeID (indicator 4.5).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, not a batch: on SQLite a batch copies the table into a new one,
# and the queue-tally triggers on dossiers (0005) would not come along.


def upgrade() -> None:
    # Dossiers filed before were not verified as far as anyone recorded.
    op.add_column(
        "dossiers",
        sa.Column("applicant_verified", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("dossiers", "applicant_verified")
