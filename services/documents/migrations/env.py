"""Alembic environment of the documents service (its own database)."""

from services.documents.models import Base
from shared.migrations import run_migrations

run_migrations(Base.metadata)
