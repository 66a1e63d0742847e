"""documents: files and their metadata, the dossiers using them, the download audit.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("label", sa.String(100)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("storage_key", sa.String(100), nullable=False, unique=True),
        sa.Column("original_name", sa.String(200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("issued_by", sa.String(30)),
    )
    op.create_index("ix_documents_owner", "documents", ["owner"])
    op.create_table(
        "document_uses",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("document_id", sa.Uuid(), sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("dossier_code", sa.String(60), nullable=False),
        sa.Column("agency_code", sa.String(30), nullable=False),
        sa.Column("used_at", AT, nullable=False),
        sa.UniqueConstraint("document_id", "dossier_code", "agency_code"),
    )
    op.create_index("ix_document_uses_document_id", "document_uses", ["document_id"])
    op.create_index("ix_document_uses_agency_code", "document_uses", ["agency_code"])
    op.create_table(
        "download_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("document_id", sa.Uuid(), sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("agency_code", sa.String(30)),
        sa.Column("request_id", sa.String(64)),
        sa.Column("at", AT, nullable=False),
    )
    op.create_index("ix_download_audit_document_id", "download_audit", ["document_id"])


def downgrade() -> None:
    op.drop_table("download_audit")
    op.drop_table("document_uses")
    op.drop_table("documents")
