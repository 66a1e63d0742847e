"""documents: the officer's position in each download's audit (the citizen sees it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Links handed out before were not recorded with it: unknown.
    op.add_column("download_audit", sa.Column("position", sa.String(20), nullable=True))


def downgrade() -> None:
    op.drop_column("download_audit", "position")
