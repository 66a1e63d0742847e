"""intake: the documents it knows (facts announced by documents, uses by its dossiers).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Empty at first: a document intake has not heard of is asked of documents, and
    # learned then.
    op.create_table(
        "known_documents",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("known_documents")
