"""procedures: fields, procedures and their immutable versions, with trigram search.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Trusted since PostgreSQL 13: the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "fields",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
    )
    op.create_table(
        "procedures",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("current_version", sa.Integer(), nullable=True),
    )
    op.create_table(
        "procedure_versions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "procedure_code", sa.String(40), sa.ForeignKey("procedures.code"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("name_search", sa.String(500), nullable=False),
        sa.Column("field_code", sa.String(40), sa.ForeignKey("fields.code"), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("online_level", sa.String(20), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.UniqueConstraint("procedure_code", "version"),
    )
    op.create_index(
        "ix_procedure_versions_procedure_code", "procedure_versions", ["procedure_code"]
    )
    op.create_index("ix_procedure_versions_field_code", "procedure_versions", ["field_code"])
    op.create_index(
        "ix_procedure_versions_name_search",
        "procedure_versions",
        ["name_search"],
        postgresql_using="gin",
        postgresql_ops={"name_search": "gin_trgm_ops"},
    )


def downgrade() -> None:
    op.drop_table("procedure_versions")
    op.drop_table("procedures")
    op.drop_table("fields")
