"""procedures: full-text search on the folded name instead of trigrams.

The trigram index did not help short Vietnamese words ("ký", "lại" fold to two or three
letters, one trigram or none) and the planner scanned the table anyway. Words are matched
by prefix with PostgreSQL's full-text search on the folded name (the 'simple'
configuration: no stemming, no stop words), through a GIN expression index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_procedure_versions_name_search", table_name="procedure_versions")
    op.create_index("ix_procedure_versions_status", "procedure_versions", ["status"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_procedure_versions_name_fts ON procedure_versions "
            "USING gin (to_tsvector('simple'::regconfig, name_search)) "
            # Read far more than written: entries go straight into the index rather than
            # a pending list that every search would scan until the next vacuum.
            "WITH (fastupdate = off)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_procedure_versions_name_fts", table_name="procedure_versions")
    op.drop_index("ix_procedure_versions_status", table_name="procedure_versions")
    op.create_index(
        "ix_procedure_versions_name_search",
        "procedure_versions",
        ["name_search"],
        postgresql_using="gin",
        postgresql_ops={"name_search": "gin_trgm_ops"},
    )
