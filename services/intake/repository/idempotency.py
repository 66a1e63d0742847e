"""``Idempotency-Key`` as payment APIs honour it (DESIGN §10).

- the same key and the same body: the first response again, nothing done twice;
- the same key and another body: 422;
- the same key while the first request still runs: 409, with ``Retry-After``;
- keys are per caller and kept at least ``idempotency_hours``.

A key is claimed in a transaction of its own before the work starts, with a lease: a
request whose process died leaves a claim that the next retry takes over once the lease
ends. The response is stored by the work's own transaction (``complete``), so a dossier
exists exactly when its replayable response does. A request refused before it changed
anything (a 4xx) releases its key, as Stripe does for requests that fail validation.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import IdempotencyRecord
from shared.db import Database
from shared.errors import Conflict, Unprocessable

MAX_KEY_LENGTH = 255
RUNNING = "Yêu cầu cùng Idempotency-Key đang được xử lý, vui lòng thử lại."


def _running(until: datetime | None = None) -> Conflict:
    """409 while the key's first run holds it, with ``Retry-After``: when its lease ends
    (a run whose process died is taken over then), else in a second."""
    wait = 1 if until is None else (until - datetime.now(UTC)).total_seconds()
    return Conflict(RUNNING, headers={"Retry-After": str(max(1, math.ceil(wait)))})


def fingerprint(body: bytes, *, scope: str = "") -> str:
    """The request's fingerprint: its ``scope`` (what it acts on: a dossier's action) and
    its body; JSON is compared by content, not by spacing."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(scope.encode() + b"\n" * bool(scope) + canonical).hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Unprocessable(
            "Idempotency-Key không hợp lệ.",
            errors=[{"location": "header", "parameter": "Idempotency-Key",
                     "message": f"1 đến {MAX_KEY_LENGTH} ký tự in được."}],
        )  # fmt: skip


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Claim:
    caller: str
    key: str


async def claim(
    database: Database, *, caller: str, key: str, print_: str, lease_seconds: int
) -> Claim | Replay:
    """Claim the key for a new run, or the stored response to replay (409/422 otherwise)."""
    now = datetime.now(UTC)
    lease = now + timedelta(seconds=lease_seconds)
    values = {
        "caller": caller,
        "key": key,
        "fingerprint": print_,
        "created_at": now,
        "locked_until": lease,
    }
    async with database.session() as session:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        inserted = await session.execute(
            dialect.insert(IdempotencyRecord)
            .values(values)
            .on_conflict_do_nothing()
            .returning(IdempotencyRecord.key)
        )
        if inserted.first() is not None:
            return Claim(caller, key)
        found = await session.get(IdempotencyRecord, (caller, key))
        if found is None:  # released between our insert and read: the caller retries
            raise _running()
        if found.fingerprint != print_:
            raise Unprocessable(
                "Idempotency-Key đã được dùng cho một yêu cầu khác.",
                errors=[{"location": "header", "parameter": "Idempotency-Key",
                         "message": "Mỗi yêu cầu khác nhau cần một khóa khác."}],
            )  # fmt: skip
        if found.status_code is not None and found.response is not None:
            return Replay(found.status_code, found.response)
        if found.locked_until > now:
            raise _running(found.locked_until)
        # The first run's process died: take over its claim (one retry wins the race).
        taken = await session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.caller == caller,
                IdempotencyRecord.key == key,
                IdempotencyRecord.locked_until == found.locked_until,
                IdempotencyRecord.status_code.is_(None),
            )
            .values(locked_until=lease)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise _running(lease)
        return Claim(caller, key)


async def complete(
    session: AsyncSession, claimed: Claim, *, status_code: int, body: dict[str, Any]
) -> None:
    """Store the response in the work's transaction."""
    await session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.caller == claimed.caller, IdempotencyRecord.key == claimed.key)
        .values(status_code=status_code, response=body)
    )


async def release(database: Database, claimed: Claim) -> None:
    """Free a key whose request changed nothing (refused, or failed before its commit)."""
    async with database.session() as session:
        await session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.caller == claimed.caller,
                IdempotencyRecord.key == claimed.key,
                IdempotencyRecord.status_code.is_(None),
            )
        )


async def purge(session: AsyncSession, *, older_than: timedelta) -> int:
    """Forget keys past their keeping time (a periodic job)."""
    cutoff = datetime.now(UTC) - older_than
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
