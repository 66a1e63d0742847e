"""documents: when a result reached the citizen's wallet (its dossier's resolution).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("issued_at", sa.DateTime(timezone=True)))
    # Results stored before were in their owners' wallets already: they stay there.
    op.execute("UPDATE documents SET issued_at = created_at WHERE kind = 'result'")


def downgrade() -> None:
    op.drop_column("documents", "issued_at")
