"""Alembic environment of the tracking service (its own database)."""

from services.tracking.models import Base
from shared.migrations import run_migrations

run_migrations(Base.metadata)
