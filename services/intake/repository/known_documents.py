"""The documents intake knows: what a submission checks, without asking documents again.

documents announces every document that becomes usable (``document.ready``: owner,
kind, type); intake keeps those facts. They never change once a document is ready and
a ready document is never taken away, so the copy cannot go stale; it can only lag, and
a document not heard of yet is asked of documents over HTTP and learned then.

Keeping the copy spares a submission that call (bench/RESULTS.md, intake). ``uses`` is
intake's own count: documents' count when learned, plus
one for each of intake's dossiers that attaches the document, in that dossier's
transaction, so "reused" is exact even for two dossiers filed a moment apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, Uuid, any_, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import KnownDocument
from services.intake.upstreams import DocumentFacts
from shared.contracts.documents import DocumentReady

_TABLE = cast(Table, KnownDocument.__table__)
_FACTS = select(_TABLE.c.id, _TABLE.c.owner, _TABLE.c.kind, _TABLE.c.content_type, _TABLE.c.uses)
_LOOKUPS = {
    # One array parameter: the same statement text for any number of ids, where an
    # expanding IN is rewritten on every call (a tenth of the lookup's CPU).
    "postgresql": _FACTS.where(_TABLE.c.id == any_(bindparam("ids", type_=ARRAY(Uuid())))),
    "sqlite": _FACTS.where(_TABLE.c.id.in_(bindparam("ids", expanding=True))),
}


def _statements(
    dialect: type[postgresql.Insert] | type[sqlite.Insert],
) -> tuple[object, object]:
    """Built once: learning from an event (first word wins), and counting a use."""
    values: dict[str, Any] = {
        name: bindparam(name) for name in ("id", "owner", "kind", "content_type", "uses")
    }
    learn = dialect(_TABLE).values(values).on_conflict_do_nothing(index_elements=[_TABLE.c.id])
    use = (
        dialect(_TABLE)
        .values(values)
        .on_conflict_do_update(index_elements=[_TABLE.c.id], set_={"uses": _TABLE.c.uses + 1})
    )
    return learn, use


_STATEMENTS = {"postgresql": _statements(postgresql.Insert), "sqlite": _statements(sqlite.Insert)}


async def lookup(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, DocumentFacts]:
    """The facts of those of ``ids`` intake knows, as documents would answer them."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    statement = _LOOKUPS[session.get_bind().dialect.name]
    rows = await session.execute(statement, {"ids": wanted})
    return {
        row.id: DocumentFacts(
            id=row.id,
            status="ready",
            content_type=row.content_type,
            kind=row.kind,
            owner=row.owner,
            uses=row.uses,
        )
        for row in rows
    }


async def learn(session: AsyncSession, ready: DocumentReady) -> None:
    """Keep what documents announced (a document learned earlier keeps its count)."""
    learn_statement, _ = _STATEMENTS[session.get_bind().dialect.name]
    await session.execute(learn_statement, ready.model_dump())  # type: ignore[call-overload]


def use_rows(documents: Iterable[DocumentFacts]) -> list[dict[str, Any]]:
    """The rows that count one more use of each of ``documents``: its count if intake
    has not kept it yet (one learned from documents' answer just now), else one more."""
    return [
        {
            "id": facts.id,
            "owner": facts.owner,
            "kind": facts.kind,
            "content_type": facts.content_type,
            "uses": facts.uses + 1,
        }
        # In the order of their ids: two dossiers attaching the same files in another
        # order would otherwise wait for each other's rows (a deadlock).
        for facts in sorted(documents, key=lambda facts: facts.id)
        if facts.status == "ready"  # every row here is answered as ready
    ]


async def count_uses(session: AsyncSession, documents: Iterable[DocumentFacts]) -> None:
    """One more dossier uses each of ``documents`` (in that dossier's transaction)."""
    rows = use_rows(documents)
    if rows:
        _, use_statement = _STATEMENTS[session.get_bind().dialect.name]
        await session.execute(use_statement, rows)  # type: ignore[call-overload]
