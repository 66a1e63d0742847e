"""Writing a new dossier: on PostgreSQL, one statement.

A submission writes one more use of each file it attaches, the receiving agency's next
number of the day, the dossier, its first audit entry and its ``dossier.submitted``
event. Only the number is unknown before writing, and the code, the entry's hash and
the event's subject depend on it. So the rows are made with a marker where the code
goes, and PostgreSQL takes the number, formats the code and hashes the entry within the
statement that writes them (``codes.code_sql`` and ``audit.hash_sql``: the formulas of
``format_code`` and ``entry_hash``, which tests hold them to).

One statement is atomic by itself. A submission that needs nothing else committed with
it (no idempotency key) writes it in a statement session: no ``BEGIN`` and ``COMMIT``
round trips, and the agency's counter row, which every submission to that desk that day
waits for, is locked while PostgreSQL runs the statement instead of until the request's
event loop gets round to committing (what that saves: bench/RESULTS.md, intake).

The statement's parts run in a fixed order: the files' counts (in the order of their
ids), then the counter (it waits for the counts), then the rows that use the code. Two
submissions therefore take the same locks in the same order, as the transaction did.
SQLite has no writes inside ``WITH``; there the same rows go in one statement after the
other, in the caller's transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Date, Select, String, Table, Text, Uuid, bindparam, func, insert, literal
from sqlalchemy import select as sql_select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import audit
from services.intake.models import AuditEntry, Dossier, DossierCounter, KnownDocument, OutboxRecord
from services.intake.repository import codes, known_documents
from services.intake.upstreams import DocumentFacts
from shared.events import Outbox

# Where the code goes until PostgreSQL knows it: random per process, and with braces,
# which no request id, agency code or account name holds, so it replaces nothing else.
MARKER = "{{code:" + secrets.token_hex(8) + "}}"

_DOSSIERS = cast(Table, Dossier.__table__)
_ENTRIES = cast(Table, AuditEntry.__table__)
_EVENTS = cast(Table, OutboxRecord.__table__)
_KNOWN = cast(Table, KnownDocument.__table__)
_COUNTERS = cast(Table, DossierCounter.__table__)
# The columns the caller fills; the code, the hash and generated keys are the writer's.
DOSSIER_COLUMNS = tuple(c.name for c in _DOSSIERS.columns if c.name not in ("code", "head_hash"))
ENTRY_COLUMNS = tuple(
    c.name for c in _ENTRIES.columns if c.name not in ("id", "dossier_code", "hash")
)
_FILE_COLUMNS = ("id", "owner", "kind", "content_type", "uses")


@dataclass(frozen=True)
class Filed:
    code: str
    head_hash: str


class MissingValue(ValueError):
    """A column that must hold a value has none, and no default to give it."""


def row_values(instance: object, table: Table, names: Iterable[str]) -> dict[str, Any]:
    """The values of ``instance``'s columns ``names``, as the ORM would write them.

    The rows are written with Core statements, which send a None as NULL: an attribute
    left unset gets its column's default here (``models.py`` declares it once), and a
    column that can be neither NULL nor defaulted fails now, on every database, rather
    than as NULL on one of them."""
    values: dict[str, Any] = {}
    for name in names:
        column = table.c[name]
        value = getattr(instance, name)
        if value is None and column.default is not None:
            default: Any = column.default
            if not default.is_scalar and not default.is_callable:
                raise MissingValue(f"{table.name}.{name}: a default Python cannot give")
            value = default.arg(None) if default.is_callable else default.arg
        if value is None and not column.nullable and column.server_default is None:
            raise MissingValue(f"{table.name}.{name} has no value")
        values[name] = value
    return values


def _typed(table: Table, names: Iterable[str], prefix: str) -> list[Any]:
    # Typed, so that asyncpg is told each value's type (a bare parameter in a SELECT
    # list would be text, which a JSON or timestamp column does not take).
    return [bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in names]


def _one_statement() -> Select[tuple[str, str]]:
    """Built once. Parameters: the files as arrays (``file_*``), the counter's key, the
    code's prefix, the marker, the entry's canonical text, and each column of the three
    rows (``d_*``, ``e_*``, ``o_*``), as ``write`` gives them."""
    known, counters = _KNOWN, _COUNTERS
    files = (
        func.unnest(
            bindparam("file_id", type_=ARRAY(Uuid())),
            bindparam("file_owner", type_=ARRAY(String())),
            bindparam("file_kind", type_=ARRAY(String())),
            bindparam("file_content_type", type_=ARRAY(String())),
            bindparam("file_uses", type_=ARRAY(known.c.uses.type)),
        )
        .table_valued(*_FILE_COLUMNS)
        .render_derived()
    )
    used = (
        pg_insert(known)
        .from_select(_FILE_COLUMNS, sql_select(*(files.c[name] for name in _FILE_COLUMNS)))
        .on_conflict_do_update(index_elements=[known.c.id], set_={"uses": known.c.uses + 1})
        .returning(known.c.id)
        .cte("used")
    )
    # The counter's row is locked last: its WHERE waits for every file's row.
    after_files = sql_select(func.count()).select_from(used).scalar_subquery() >= 0
    numbered = (
        pg_insert(counters)
        .from_select(
            ["agency_code", "day", "last_number"],
            sql_select(
                bindparam("agency_code", type_=String()), bindparam("day", type_=Date()), literal(1)
            ).where(after_files),
        )
        .on_conflict_do_update(
            index_elements=[counters.c.agency_code, counters.c.day],
            set_={"last_number": counters.c.last_number + 1},
        )
        .returning(counters.c.last_number)
        .cte("numbered")
    )
    marker = bindparam("marker", type_=Text())
    coded = sql_select(
        codes.code_sql(bindparam("code_prefix", type_=String()), numbered.c.last_number).label(
            "code"
        )
    ).cte("coded")
    filed = sql_select(
        coded.c.code,
        audit.hash_sql(bindparam("entry_canonical", type_=Text()), marker, coded.c.code).label(
            "hash"
        ),
    ).cte("filed")

    def with_code_and_hash(
        table: Table, code: str, hash_: str, names: Iterable[str], prefix: str
    ) -> Any:
        columns = [code, hash_, *names]
        values = sql_select(filed.c.code, filed.c.hash, *_typed(table, names, prefix))
        return insert(table).from_select(columns, values).cte(f"new_{table.name}")

    dossier = with_code_and_hash(_DOSSIERS, "code", "head_hash", DOSSIER_COLUMNS, "d_")
    entry = with_code_and_hash(_ENTRIES, "dossier_code", "hash", ENTRY_COLUMNS, "e_")
    event = (
        insert(_EVENTS)
        .from_select(
            ["event_id", "topic", "envelope"],
            sql_select(
                *_typed(_EVENTS, ["event_id", "topic"], "o_"),
                func.replace(bindparam("o_envelope", type_=Text()), marker, filed.c.code),
            ),
        )
        .cte("event")
    )
    return sql_select(filed.c.code, filed.c.hash).add_cte(dossier, entry, event)


_ONE_STATEMENT = _one_statement()


@dataclass(frozen=True)
class NewDossier:
    """What a submission writes, made by the caller; the writer adds the code."""

    dossier: Dossier  # transient; every column set but the code and the head hash
    entry: AuditEntry  # transient; every column set but the dossier code and the hash
    event: tuple[str, dict[str, Any]]  # the event's type and payload; its subject is the code
    files: tuple[DocumentFacts, ...]  # each used once more
    receiving_agency_code: str
    at: datetime


def one_statement(session: AsyncSession) -> bool:
    """Whether ``write`` writes in one statement on ``session``'s database."""
    return session.get_bind().dialect.name == "postgresql"


async def write(session: AsyncSession, outbox: Outbox, new: NewDossier) -> Filed:
    """Write ``new``; its dossier and entry get their code and hash."""
    day = codes.local_day(new.at)
    new.entry.dossier_code = MARKER
    entry_canonical = audit.canonical(new.entry)
    event_type, payload = new.event
    envelope = outbox.row(
        outbox.envelope(event_type, payload, subject=MARKER, sequence=new.entry.sequence)
    )
    dossier_values = row_values(new.dossier, _DOSSIERS, DOSSIER_COLUMNS)
    entry_values = row_values(new.entry, _ENTRIES, ENTRY_COLUMNS)
    if one_statement(session):
        files = known_documents.use_rows(new.files)
        parameters: dict[str, Any] = {
            **{f"file_{name}": [row[name] for row in files] for name in _FILE_COLUMNS},
            "agency_code": new.receiving_agency_code,
            "day": day,
            "code_prefix": codes.code_prefix(new.receiving_agency_code, day),
            "marker": MARKER,
            "entry_canonical": entry_canonical,
            **{f"d_{name}": value for name, value in dossier_values.items()},
            **{f"e_{name}": value for name, value in entry_values.items()},
            **{f"o_{name}": value for name, value in envelope.items()},
        }
        row = (await session.execute(_ONE_STATEMENT, parameters)).one()
        filed = Filed(code=row.code, head_hash=row.hash)
    else:
        await known_documents.count_uses(session, new.files)
        code = await codes.next_code(session, agency_code=new.receiving_agency_code, at=new.at)
        new.entry.dossier_code = code
        filed = Filed(code, audit.entry_hash(new.entry))
        await session.execute(
            insert(_DOSSIERS), {"code": code, "head_hash": filed.head_hash, **dossier_values}
        )
        await session.execute(
            insert(_ENTRIES), {"dossier_code": code, "hash": filed.head_hash, **entry_values}
        )
        await session.execute(
            insert(_EVENTS), {**envelope, "envelope": envelope["envelope"].replace(MARKER, code)}
        )
    outbox.wake_after_commit(session)
    new.dossier.code = new.entry.dossier_code = filed.code
    new.dossier.head_hash = new.entry.hash = filed.head_hash
    return filed
