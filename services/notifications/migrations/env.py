"""Alembic environment of the notifications service (its own database)."""

from services.notifications.models import Base
from shared.migrations import run_migrations

run_migrations(Base.metadata)
