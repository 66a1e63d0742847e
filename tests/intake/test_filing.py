"""Writing a new dossier (``filing``): on PostgreSQL one statement that takes the code,
hashes the audit entry and writes every row; on SQLite the same rows one by one. Both
give what the formulas in Python give, all or nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.intake import audit, repository
from services.intake.models import AuditEntry, Dossier, DossierCounter, OutboxRecord
from services.intake.repository import filing, known_documents
from services.intake.repository.codes import format_code
from services.intake.schemas import DocumentRef, SubmissionIn
from services.intake.submission import Accepted, record
from services.intake.upstreams import DocumentFacts
from shared.auth import Principal, Role
from shared.contracts.procedures import ProcedureFacts
from shared.db import Database
from shared.events import Outbox

CENTRE = "000.00.15.H49"
CITIZEN = Principal(subject="citizen-1", username="001099000001", role=Role.CITIZEN)
# 23:30 on the 22nd in UTC is already the 23rd in Vietnam.
LATE_UTC = datetime.fromisoformat("2026-11-22T23:30:00+00:00")
DAY = LATE_UTC.date().replace(day=23)
PROCEDURE = ProcedureFacts.model_validate(
    {
        "code": "TTHC-20",
        "name": "Đổi giấy phép lái xe",
        "version": 2,
        "field_code": "G01",
        "level": "province",
        "online_level": "full",
        "processing_time": {"unit": "working_days", "value": 5},
        "fees": [{"name": "Lệ phí", "amount_vnd": 135000}],
        "offered_by": [CENTRE],
    }
)


def file(uses: int = 0) -> DocumentFacts:
    return DocumentFacts(
        id=uuid.uuid4(), status="ready", content_type="application/pdf", kind="upload",
        owner=CITIZEN.subject, uses=uses,
    )  # fmt: skip


async def submit(database: Database, files: list[DocumentFacts], *, alone: bool = False) -> Dossier:
    body = SubmissionIn(
        procedure_code=PROCEDURE.code,
        agency_code=CENTRE,
        applicant={"full_name": "Trần Thị Bình"},
        documents=[DocumentRef(requirement=n, id=f.id) for n, f in enumerate(files)],
    )
    accepted = Accepted(PROCEDURE, CENTRE, CITIZEN.subject, CITIZEN.subject, tuple(files))
    outbox = Outbox(OutboxRecord, source="intake")
    sessions = database.statement_session if alone else database.session
    async with sessions() as session:
        dossier = await record(
            session, outbox, body=body, accepted=accepted, principal=CITIZEN, now=LATE_UTC
        )
    assert outbox.committed_in_process.is_set()  # the relay is woken
    return dossier


async def stored_event(database: Database, code: str) -> dict[str, object]:
    async with database.session() as session:
        rows = (await session.scalars(select(OutboxRecord.envelope))).all()
    envelopes = [json.loads(row) for row in rows]
    return next(envelope for envelope in envelopes if envelope["subject"] == code)


async def test_the_rows_carry_the_code_and_a_hash_that_verifies(database: Database) -> None:
    reused, new = file(uses=1), file()
    first = await submit(database, [reused, new])
    second = await submit(database, [reused])
    assert (first.code, second.code) == (f"{CENTRE}-261123-0001", f"{CENTRE}-261123-0002")
    async with database.session() as session:
        stored = await session.get(Dossier, first.code)
        assert stored is not None
        assert stored.head_hash == first.head_hash
        assert stored.applicant_data == {"full_name": "Trần Thị Bình"}
        assert stored.submitted_at == LATE_UTC
        assert stored.fee_total_vnd == 135000
        entries = await repository.audit_trail(session, first.code)
        assert [(e.sequence, e.action, e.hash) for e in entries] == [(1, "submit", first.head_hash)]
        assert entries[0].details["documents"] == 2
        # The hash is the one Python's formula gives, so the chain verifies.
        assert await audit.verify(session) == (2, [])
        counted = await known_documents.lookup(session, [reused.id, new.id])
    assert {i: f.uses for i, f in counted.items()} == {reused.id: 3, new.id: 1}
    event = await stored_event(database, first.code)
    assert (event["type"], event["sequence"]) == ("dossier.submitted", 1)
    assert filing.MARKER not in json.dumps(event)


async def test_a_busy_day_gets_more_digits_on_both_databases(database: Database) -> None:
    async with database.session() as session:
        session.add(DossierCounter(agency_code=CENTRE, day=DAY, last_number=9999))
    dossier = await submit(database, [])
    assert dossier.code == format_code(CENTRE, DAY, 10000)
    assert dossier.code.endswith("-10000")


async def test_a_failed_statement_writes_nothing(database: Database) -> None:
    # An audit entry already holds the code the next dossier gets: its insert fails,
    # and with it the counter, the dossier, the event and the files' counts.
    taken = format_code(CENTRE, DAY, 1)
    async with database.session() as session:
        session.add(
            AuditEntry(dossier_code=taken, sequence=1, actor="x", role="officer", action="x",
                       to_status="x", at=LATE_UTC, details={}, prev_hash="0", hash="0")
        )  # fmt: skip
    used = file(uses=4)
    with pytest.raises(IntegrityError):
        await submit(database, [used], alone=not database.is_sqlite)
    async with database.session() as session:
        for model in (Dossier, DossierCounter, OutboxRecord):
            assert await session.scalar(select(func.count()).select_from(model)) == 0
        assert await known_documents.lookup(session, [used.id]) == {}


async def test_without_a_transaction_the_statement_commits_as_it_runs(
    database: Database,
) -> None:
    if database.is_sqlite:
        with pytest.raises(RuntimeError, match="PostgreSQL"):
            await submit(database, [], alone=True)
        return
    dossier = await submit(database, [file()], alone=True)
    async with database.read_session() as session:
        assert await session.scalar(select(Dossier.status).where(Dossier.code == dossier.code))


async def test_parallel_submissions_sharing_files_take_distinct_codes_and_count_every_use(
    database: Database,
) -> None:
    # The same two files in every dossier, listed in either order: the files' rows and
    # the counter are locked in one order, so nothing deadlocks and nothing is lost.
    shared = [file(), file()]
    dossiers = await asyncio.gather(
        *(
            submit(database, shared if n % 2 else shared[::-1], alone=not database.is_sqlite)
            for n in range(60)
        )
    )
    assert sorted(d.code for d in dossiers) == [format_code(CENTRE, DAY, n) for n in range(1, 61)]
    async with database.session() as session:
        counted = await known_documents.lookup(session, [f.id for f in shared])
        assert {f.uses for f in counted.values()} == {60}
        assert await audit.verify(session) == (60, [])


async def test_a_column_left_unset_gets_its_models_default_on_both_databases(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever columns models.py gives a default, read from the table, not listed here:
    the submission leaves them unset, and the rows still hold the defaults."""
    table = Dossier.__table__
    defaulted = {c.name: c.default for c in table.columns if c.default is not None}
    assert defaulted  # the model declares some, or this test tests nothing
    write = filing.write

    async def write_with_defaults_unset(session, outbox, new):  # type: ignore[no-untyped-def]
        for name in defaulted:
            setattr(new.dossier, name, None)
        return await write(session, outbox, new)

    monkeypatch.setattr(filing, "write", write_with_defaults_unset)
    dossier = await submit(database, [file()])
    async with database.session() as session:
        stored = await session.get(Dossier, dossier.code)
        assert stored is not None
        for name, default in defaulted.items():
            expected = default.arg(None) if default.is_callable else default.arg
            assert getattr(stored, name) == expected, name


def test_a_required_column_without_a_value_fails_before_anything_is_written() -> None:
    with pytest.raises(filing.MissingValue, match="has no value"):
        filing.row_values(Dossier(), Dossier.__table__, filing.DOSSIER_COLUMNS)  # type: ignore[arg-type]
