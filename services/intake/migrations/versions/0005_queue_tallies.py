"""intake: queue tallies kept by triggers, and the due-soon index.

The tallies count an agency's dossiers per status and per UTC day of their due date and
due-soon instant, so a queue's counts per timeliness are sums over a few hundred rows
instead of a count over every open dossier (bench/intake.py: 40,000 open dossiers in
one agency took 30-40 ms to count). Triggers keep them in the statement that changes a
dossier: they cannot drift from the rows whatever writes them, and roll back with them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The ``day`` of a ``status`` row, which counts the status whatever the dates.
NO_DAY = "1970-01-01"

# One statement per change, its rows in key order: two transactions moving dossiers
# between the same tally rows lock them in the same order and cannot deadlock. Dated
# kinds only for a dossier that has the date (``day`` of NULL is dropped).
POSTGRES_FUNCTION = f"""
CREATE FUNCTION intake_queue_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO queue_tallies AS t (agency_code, status, kind, day, dossiers)
    SELECT c.agency_code, c.status, k.kind, k.day, sum(c.delta)
    FROM (
        SELECT OLD.agency_code, OLD.status, OLD.due_at, OLD.due_soon_at, -1
        WHERE TG_OP <> 'INSERT'
        UNION ALL
        SELECT NEW.agency_code, NEW.status, NEW.due_at, NEW.due_soon_at, 1
        WHERE TG_OP <> 'DELETE'
    ) AS c (agency_code, status, due_at, due_soon_at, delta)
    CROSS JOIN LATERAL (VALUES
        ('status', DATE '{NO_DAY}'),
        ('due', (c.due_at AT TIME ZONE 'UTC')::date),
        ('soon', (c.due_soon_at AT TIME ZONE 'UTC')::date)
    ) AS k (kind, day)
    WHERE k.day IS NOT NULL
    GROUP BY c.agency_code, c.status, k.kind, k.day
    HAVING sum(c.delta) <> 0
    ORDER BY c.agency_code, c.status, k.kind, k.day
    ON CONFLICT (agency_code, status, kind, day)
    DO UPDATE SET dossiers = t.dossiers + EXCLUDED.dossiers;
    RETURN NULL;
END
$$
"""
POSTGRES_TRUNCATE_FUNCTION = """
CREATE FUNCTION intake_queue_tally_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM queue_tallies;
    RETURN NULL;
END
$$
"""
POSTGRES_TRIGGERS = (
    "CREATE TRIGGER dossiers_queue_tally"
    " AFTER INSERT OR DELETE OR UPDATE OF agency_code, status, due_at, due_soon_at"
    " ON dossiers FOR EACH ROW EXECUTE FUNCTION intake_queue_tally()",
    "CREATE TRIGGER dossiers_queue_tally_truncate AFTER TRUNCATE ON dossiers"
    " FOR EACH STATEMENT EXECUTE FUNCTION intake_queue_tally_truncate()",
)

# SQLite has one writer at a time and no trigger functions: a statement per tally row.
# Its instants are stored as UTC text, which ``date()`` reads.
_SQLITE_KINDS = (("status", f"'{NO_DAY}'", None), ("due", "date({row}.due_at)", "due_at"),
                 ("soon", "date({row}.due_soon_at)", "due_soon_at"))  # fmt: skip


def _sqlite_upserts(row: str, delta: int) -> str:
    statements = []
    for kind, day, column in _SQLITE_KINDS:
        present = f"{row}.{column} IS NOT NULL" if column else "1"
        statements.append(
            "INSERT INTO queue_tallies (agency_code, status, kind, day, dossiers)"
            f" SELECT {row}.agency_code, {row}.status, '{kind}', {day.format(row=row)}, {delta}"
            f" WHERE {present}"
            " ON CONFLICT (agency_code, status, kind, day)"
            " DO UPDATE SET dossiers = dossiers + excluded.dossiers;"
        )
    return "\n".join(statements)


SQLITE_TRIGGERS = (
    f"CREATE TRIGGER dossiers_queue_tally_insert AFTER INSERT ON dossiers BEGIN\n"
    f"{_sqlite_upserts('NEW', 1)}\nEND",
    f"CREATE TRIGGER dossiers_queue_tally_delete AFTER DELETE ON dossiers BEGIN\n"
    f"{_sqlite_upserts('OLD', -1)}\nEND",
    "CREATE TRIGGER dossiers_queue_tally_update"
    " AFTER UPDATE OF agency_code, status, due_at, due_soon_at ON dossiers BEGIN\n"
    f"{_sqlite_upserts('OLD', -1)}\n{_sqlite_upserts('NEW', 1)}\nEND",
)


def _backfill(utc_day: str) -> str:
    """The tallies of the dossiers already there (``utc_day`` formats a column's day)."""
    parts = [
        f"SELECT agency_code, status, '{kind}' AS kind, {day} AS day FROM dossiers"
        f" WHERE {column} IS NOT NULL"
        for kind, day, column in (
            ("due", utc_day.format("due_at"), "due_at"),
            ("soon", utc_day.format("due_soon_at"), "due_soon_at"),
        )
    ]
    everyone = f"SELECT agency_code, status, 'status' AS kind, '{NO_DAY}' AS day FROM dossiers"
    parts.insert(0, everyone)
    return (
        "INSERT INTO queue_tallies (agency_code, status, kind, day, dossiers)"
        " SELECT agency_code, status, kind, day, count(*)"
        f" FROM ({' UNION ALL '.join(parts)}) AS d GROUP BY agency_code, status, kind, day"
    )


def upgrade() -> None:
    op.create_table(
        "queue_tallies",
        sa.Column("agency_code", sa.String(30), primary_key=True),
        sa.Column("status", sa.String(30), primary_key=True),
        sa.Column("kind", sa.String(10), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("dossiers", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_dossiers_due_soon",
        "dossiers",
        ["agency_code", "due_soon_at"],
        postgresql_include=["status"],
        postgresql_where=sa.text("due_soon_at IS NOT NULL"),
        sqlite_where=sa.text("due_soon_at IS NOT NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Every change of a dossier updates a tally row: room on its page keeps the
        # update HOT (no index entry), and a vacuum after 1% dead rows keeps it small.
        op.execute(
            "ALTER TABLE queue_tallies SET (fillfactor = 50,"
            " autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 500)"
        )
        op.execute(_backfill("({} AT TIME ZONE 'UTC')::date"))
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRUNCATE_FUNCTION)
        statements: tuple[str, ...] = POSTGRES_TRIGGERS
    else:
        op.execute(_backfill("date({})"))
        statements = SQLITE_TRIGGERS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER dossiers_queue_tally ON dossiers")
        op.execute("DROP TRIGGER dossiers_queue_tally_truncate ON dossiers")
        op.execute("DROP FUNCTION intake_queue_tally()")
        op.execute("DROP FUNCTION intake_queue_tally_truncate()")
    else:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER dossiers_queue_tally_{event}")
    op.drop_index("ix_dossiers_due_soon", table_name="dossiers")
    op.drop_table("queue_tallies")
