"""intake: the applicant's name beside the e-form, for the officers' queue.

Every e-form carries the common applicant block (``applicant.full_name``); a queue row
shows it without reading the whole e-form.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The name as the e-form gave it, in each engine's JSON dialect.
FROM_EFORM = {
    "postgresql": "left(applicant_data::jsonb #>> '{applicant,full_name}', 200)",
    "sqlite": "substr(json_extract(applicant_data, '$.applicant.full_name'), 1, 200)",
}


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch (the queue-tally triggers stay, as in 0007).
    op.add_column("dossiers", sa.Column("applicant_name", sa.String(200), nullable=True))
    expression = FROM_EFORM[op.get_bind().dialect.name]
    op.execute(f"UPDATE dossiers SET applicant_name = {expression}")


def downgrade() -> None:
    op.drop_column("dossiers", "applicant_name")
