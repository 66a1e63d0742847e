"""Helpers for driving dossiers through the platform in tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from sqlalchemy import select

from services.intake.models import AuditEntry
from services.intake.upstreams import TtlMemo
from shared.db import Database
from tests.platform import CENTRE, Platform

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PDF = b"%PDF-1.4\n%%EOF\n" * 50
# Đổi giấy phép lái xe: province level, fully online, 5 working days, 135.000 đ.
LICENCE = "TTHC-20"
APPLICANT = {
    "full_name": "Trần Thị Bình",
    "id_number": "001099000001",
    "contact_address": "Phường Hồng Gai, Quảng Ninh",
}
LICENCE_FORM: dict[str, Any] = {
    "applicant": APPLICANT,
    "licence_number": "220123456789",
    "licence_class": "B",
}


def at(text: str) -> datetime:
    """A local Vietnamese wall time, e.g. ``at("2026-02-13 16:00")``."""
    return datetime.fromisoformat(text).replace(tzinfo=VN)


def instant(value: str) -> datetime:
    """An ISO 8601 instant of an answer (any offset), to compare with ``at``."""
    return datetime.fromisoformat(value)


def set_clock(platform: Platform, when: datetime) -> None:
    platform.apps["intake"].state.clock = lambda: when


async def upload(platform: Platform, headers: dict[str, str], name: str = "tờ khai.pdf") -> str:
    response = await platform.client.post(
        "/api/v1/documents", files={"file": (name, PDF, "application/pdf")}, headers=headers
    )
    assert response.status_code == 201, response.text
    document_id: str = response.json()["id"]
    return document_id


async def documents_for(
    platform: Platform, procedure_code: str, headers: dict[str, str]
) -> list[dict[str, Any]]:
    """One upload for each document the procedure requires."""
    procedure = (await platform.client.get(f"/api/v1/procedures/{procedure_code}")).json()
    refs = []
    for index, requirement in enumerate(procedure["required_documents"]):
        if requirement["required"] and requirement["kind"] != "presented":
            refs.append({"requirement": index, "id": await upload(platform, headers)})
    return refs


async def submit(
    platform: Platform,
    headers: dict[str, str],
    *,
    procedure_code: str = LICENCE,
    form: dict[str, Any] | None = None,
    agency_code: str = CENTRE,
    extra_headers: dict[str, str] | None = None,
    **body: Any,
) -> httpx.Response:
    documents = body.pop("documents", None)
    if documents is None:
        documents = await documents_for(platform, procedure_code, headers)
    payload = {
        "procedure_code": procedure_code,
        "agency_code": agency_code,
        "applicant": form if form is not None else LICENCE_FORM,
        "documents": documents,
        **body,
    }
    return await platform.client.post(
        "/api/v1/dossiers", json=payload, headers={**headers, **(extra_headers or {})}
    )


async def act(
    platform: Platform, code: str, action: str, headers: dict[str, str], **body: Any
) -> httpx.Response:
    return await platform.client.post(
        f"/api/v1/dossiers/{code}/actions/{action}", json=body, headers=headers
    )


async def audited_actions(platform: Platform, code: str) -> list[str]:
    """The actions of a dossier's audit trail, in order, as intake's database holds them."""
    database = Database(platform.urls["intake"])
    try:
        async with database.session() as session:
            rows = await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.dossier_code == code)
                .order_by(AuditEntry.sequence)
            )
            return list(rows)
    finally:
        await database.dispose()


@contextlib.asynccontextmanager
async def held_upstream(platform: Platform, service: str) -> AsyncIterator[asyncio.Event]:
    """Intake's calls to ``service`` wait until the block ends; the event is set once a
    call is waiting (intake's memo of that service's answers is emptied first)."""
    upstreams = platform.apps["intake"].state.upstreams
    asked, answer = asyncio.Event(), asyncio.Event()
    fetch = upstreams._fetch[service]

    async def held(path: str, headers: Any) -> tuple[int, bytes]:
        asked.set()
        await answer.wait()
        found: tuple[int, bytes] = await fetch(path, headers)
        return found

    upstreams._fetch[service] = held
    upstreams._calendars = TtlMemo(60.0)
    upstreams._catalogue = TtlMemo(30.0)
    try:
        yield asked
    finally:
        answer.set()


async def transactions_waiting(connection: asyncpg.Connection, *, seconds: float = 1.0) -> int:
    """Sessions of this database idle inside one and the same transaction for
    ``seconds``. A relay or a consumer between two statements is idle in a transaction
    for an instant (longer on a busy machine); a transaction held across a wait for
    another service is there for the whole wait."""
    query = (
        "SELECT pid, xact_start FROM pg_stat_activity"
        " WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
    )
    before = {tuple(row) for row in await connection.fetch(query)}
    await asyncio.sleep(seconds)
    after = {tuple(row) for row in await connection.fetch(query)}
    return len(before & after)
