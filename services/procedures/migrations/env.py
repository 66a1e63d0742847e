"""Alembic environment of the procedures service (its own database)."""

from services.procedures.models import Base
from shared.migrations import run_migrations

run_migrations(Base.metadata)
