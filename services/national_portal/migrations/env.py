"""Alembic environment of the national_portal service (its own database)."""

from services.national_portal.models import Base
from shared.migrations import run_migrations

run_migrations(Base.metadata)
