"""The audit trail: append-only, hash-chained per dossier, verifiable.

Each entry's hash is SHA-256 over its canonical JSON (sorted keys, instants in UTC) and
the previous entry's hash; the first entry of a dossier chains to 64 zeros. Editing a
row changes its hash; deleting one breaks the next link or the run of sequences. The
chain is per dossier so that writers of different dossiers never wait for each other.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import repository
from services.intake.models import AuditEntry

GENESIS = "0" * 64


def canonical(entry: AuditEntry) -> str:
    """What an entry's hash covers, as text (the previous hash included)."""
    content = {
        "dossier_code": entry.dossier_code,
        "sequence": entry.sequence,
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action,
        "from_status": entry.from_status,
        "to_status": entry.to_status,
        "at": entry.at.astimezone(UTC).isoformat(),
        "details": entry.details,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(canonical(entry).encode()).hexdigest()


def hash_sql(
    canonical_text: ColumnElement[str], marker: ColumnElement[str], code: ColumnElement[str]
) -> ColumnElement[str]:
    """``entry_hash`` in SQL (PostgreSQL), of an entry whose canonical text was made with
    ``marker`` for its dossier code: for a statement that takes the code itself."""
    text = func.replace(canonical_text, marker, code)
    return func.encode(func.sha256(func.convert_to(text, "UTF8")), "hex")


def append(
    session: AsyncSession,
    *,
    dossier_code: str,
    sequence: int,
    prev_hash: str,
    actor: str,
    role: str,
    action: str,
    from_status: str | None,
    to_status: str,
    at: datetime,
    details: dict[str, Any],
) -> AuditEntry:
    """Add the entry to the caller's transaction (with the state change and the event)."""
    entry = AuditEntry(
        dossier_code=dossier_code,
        sequence=sequence,
        actor=actor,
        role=role,
        action=action,
        from_status=from_status,
        to_status=to_status,
        at=at,
        details=details,
        prev_hash=prev_hash,
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    return entry


@dataclass(frozen=True)
class Break:
    dossier_code: str
    sequence: int
    reason: str


async def verify(session: AsyncSession) -> tuple[int, list[Break]]:
    """Walk every dossier's chain (streamed), then check each dossier's head against it;
    return the entries checked and each break."""
    breaks: list[Break] = []
    checked = 0
    previous: AuditEntry | None = None
    async for entry in repository.every_audit_entry(session):
        checked += 1
        same = previous is not None and previous.dossier_code == entry.dossier_code
        expected_sequence = previous.sequence + 1 if same and previous else 1
        expected_prev = previous.hash if same and previous else GENESIS
        if entry.sequence != expected_sequence:
            breaks.append(Break(entry.dossier_code, entry.sequence, "sequence gap"))
        if entry.prev_hash != expected_prev:
            breaks.append(Break(entry.dossier_code, entry.sequence, "broken link"))
        if entry_hash(entry) != entry.hash:
            breaks.append(Break(entry.dossier_code, entry.sequence, "content changed"))
        previous = entry
    # The chain cannot tell that its last entries were removed; the dossier row can: it
    # keeps the number and hash of its last entry.
    async for code, sequence in repository.headless_dossiers(session):
        breaks.append(Break(code, sequence, "last entry missing"))
    return checked, breaks
