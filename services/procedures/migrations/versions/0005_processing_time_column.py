"""procedures: the processing time beside the name, so search never reads the content.

A search result shows the processing time; reading it from the version's whole content
(JSON with the e-form) cost more than the search itself.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

versions = sa.table(
    "procedure_versions",
    sa.column("id", sa.Integer),
    sa.column("content", sa.Text),
    sa.column("processing_time", sa.Text),
)


def upgrade() -> None:
    with op.batch_alter_table("procedure_versions") as batch:
        batch.add_column(sa.Column("processing_time", sa.Text(), nullable=True))
    connection = op.get_bind()
    for version_id, content in connection.execute(sa.select(versions.c.id, versions.c.content)):
        time = json.loads(content).get("processing_time")
        if time is not None:
            connection.execute(
                versions.update()
                .where(versions.c.id == version_id)
                .values(processing_time=json.dumps(time))
            )


def downgrade() -> None:
    with op.batch_alter_table("procedure_versions") as batch:
        batch.drop_column("processing_time")
