"""What intake knows of documents: learned from ``document.ready``, counted per dossier,
and asked of documents only for what it has not heard of yet (PostgreSQL and SQLite)."""

from __future__ import annotations

import uuid
from typing import Any

from services.intake.repository import known_documents
from services.intake.schemas import DocumentRef
from services.intake.submission import Problems, check_documents
from services.intake.upstreams import DocumentFacts
from shared.contracts.documents import DocumentReady
from shared.db import Database

CITIZEN = "citizen-1"
PDF = "application/pdf"


def ready(owner: str = CITIZEN, uses: int = 0) -> DocumentReady:
    return DocumentReady(id=uuid.uuid4(), owner=owner, kind="upload", content_type=PDF, uses=uses)


def facts(ready_: DocumentReady, *, uses: int | None = None) -> DocumentFacts:
    return DocumentFacts(
        id=ready_.id,
        status="ready",
        content_type=ready_.content_type,
        kind=ready_.kind,
        owner=ready_.owner,
        uses=ready_.uses if uses is None else uses,
    )


class AskedDocuments:
    """Documents' answers over HTTP, recording what was asked."""

    def __init__(self, *answers: DocumentFacts) -> None:
        self.answers = {answer.id: answer for answer in answers}
        self.asked: list[list[uuid.UUID]] = []

    async def own_documents(
        self, ids: list[uuid.UUID], _authorization: str
    ) -> dict[uuid.UUID, DocumentFacts]:
        self.asked.append(list(ids))
        return {i: self.answers[i] for i in ids if i in self.answers}


async def known(database: Database, *ids: uuid.UUID) -> dict[uuid.UUID, DocumentFacts]:
    async with database.session() as session:
        return await known_documents.lookup(session, ids)


async def test_announced_facts_answer_as_documents_would(database: Database) -> None:
    first = ready(uses=1)
    async with database.session() as session:
        await known_documents.learn(session, first)
    async with database.session() as session:  # redelivered, or announced again: kept
        await known_documents.learn(session, first.model_copy(update={"uses": 7}))
    unknown = uuid.uuid4()
    assert await known(database, first.id, unknown) == {first.id: facts(first)}
    assert await known(database) == {}


async def test_each_dossier_counts_one_use_even_of_a_document_learned_from_documents(
    database: Database,
) -> None:
    announced, answered = ready(), ready()
    async with database.session() as session:
        await known_documents.learn(session, announced)
    # A dossier attaches both: one intake knew, one documents answered (used twice there).
    async with database.session() as session:
        await known_documents.count_uses(session, [facts(answered, uses=2), facts(announced)])
    assert {i: f.uses for i, f in (await known(database, announced.id, answered.id)).items()} == {
        announced.id: 1,
        answered.id: 3,
    }
    async with database.session() as session:  # a rolled-back dossier counts nothing
        await known_documents.count_uses(session, [facts(announced, uses=1)])
        await session.rollback()
    async with database.session() as session:
        await known_documents.count_uses(session, [facts(announced, uses=1)])
    assert (await known(database, announced.id))[announced.id].uses == 2
    # Its announcement arriving late changes nothing.
    async with database.session() as session:
        await known_documents.learn(session, answered)
    assert (await known(database, answered.id))[answered.id].uses == 3


async def test_a_submission_asks_documents_only_about_what_intake_has_not_heard_of(
    database: Database,
) -> None:
    mine, theirs, new = ready(), ready(owner="citizen-2"), ready()
    async with database.session() as session:
        await known_documents.learn(session, mine)
        await known_documents.learn(session, theirs)
    asked = AskedDocuments(facts(new))
    refs = [DocumentRef(requirement=n, id=d.id) for n, d in enumerate((mine, theirs, new))]
    problems = Problems()
    async with database.session() as session:
        usable = await check(session, refs, asked, problems)
    assert asked.asked == [[new.id]]
    assert [f.id for f in usable] == [mine.id, new.id]
    # Someone else's document is refused from what intake knows, as documents would.
    assert problems.items == [
        {
            "location": "body",
            "pointer": "#/documents/1/id",
            "message": "Không có tài liệu này trong kho của bạn.",
        }
    ]

    everything_known = AskedDocuments()
    async with database.session() as session:
        await check(session, refs[:1], everything_known, Problems())
    assert everything_known.asked == []


async def check(
    session: Any, refs: list[DocumentRef], asked: AskedDocuments, problems: Problems
) -> list[DocumentFacts]:
    return await check_documents(
        session,
        refs,
        location="documents",
        owner=CITIZEN,
        authorization="Bearer x",
        upstreams=asked,  # type: ignore[arg-type]
        problems=problems,
        requirements=3,
    )
