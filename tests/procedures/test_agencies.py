"""Editing agencies: a new agency, its details and parent, and the procedures its desk
offers; each change announced to the other services."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from services.procedures.config import ProceduresSettings
from services.procedures.models import OutboxRecord
from shared.contracts.agencies import AGENCY_UPSERTED
from shared.contracts.events import EventEnvelope
from shared.db import Database
from tests.procedures.test_admin import as_

PROVINCE = "000.00.00.H49"
CENTRE = "000.00.15.H49"
NEW = "000.00.30.H49"


def agency(**changes: Any) -> dict[str, Any]:
    return {"code": NEW, "name": "Sở Văn hóa, Thể thao và Du lịch tỉnh Quảng Ninh",
            "level": "province", "parent_code": PROVINCE, **changes}  # fmt: skip


async def announced(settings: ProceduresSettings, code: str) -> list[dict[str, Any]]:
    database = Database(settings.db_url)
    try:
        async with database.session() as session:
            rows = await session.scalars(select(OutboxRecord).order_by(OutboxRecord.id))
            envelopes = [EventEnvelope.model_validate_json(row.envelope) for row in rows]
            return [e.payload for e in envelopes if e.type == AGENCY_UPSERTED and e.subject == code]
    finally:
        await database.dispose()


async def test_an_admin_adds_and_edits_an_agency_announced_each_time(
    api: httpx.AsyncClient, procedures_settings: ProceduresSettings
) -> None:
    admin = as_(api, "admin")
    assert (await api.post("/api/v1/agencies", json=agency())).status_code == 401
    citizen = await api.post("/api/v1/agencies", json=agency(), headers=as_(api, "citizen"))
    assert citizen.status_code == 403
    made = await api.post("/api/v1/agencies", json=agency(), headers=admin)
    assert made.status_code == 201, made.text
    assert (await api.get(f"/api/v1/agencies/{NEW}")).json()["calendar_code"] == "national"
    again = await api.post("/api/v1/agencies", json=agency(name="Khác"), headers=admin)
    assert again.status_code == 409

    orphan = await api.post("/api/v1/agencies", json=agency(code="000.00.31.H49",
                            parent_code="000.99.99.H49"), headers=admin)  # fmt: skip
    assert orphan.status_code == 422
    assert [e["pointer"] for e in orphan.json()["errors"]] == ["#/parent_code"]

    edit = {k: v for k, v in agency(name="Sở Văn hóa và Thể thao tỉnh Quảng Ninh",
            calendar_code="qn-van-hoa").items() if k != "code"}  # fmt: skip
    edited = await api.put(f"/api/v1/agencies/{NEW}", json=edit, headers=admin)
    assert edited.status_code == 200, edited.text
    assert edited.json()["name"] == "Sở Văn hóa và Thể thao tỉnh Quảng Ninh"
    # The province under its own department: a cycle, refused; and no such agency: 404.
    cycle = await api.put(f"/api/v1/agencies/{PROVINCE}", headers=admin,
                          json={**edit, "name": "UBND tỉnh", "parent_code": NEW})  # fmt: skip
    assert cycle.status_code == 422
    assert (await api.get(f"/api/v1/agencies/{PROVINCE}")).json()["parent_code"] is None
    missing = await api.put("/api/v1/agencies/000.98.98.H49", json=edit, headers=admin)
    assert missing.status_code == 404
    events = await announced(procedures_settings, NEW)
    assert [e["calendar_code"] for e in events] == ["national", "qn-van-hoa"]


async def test_the_procedures_a_desk_offers_are_replaced_whole(api: httpx.AsyncClient) -> None:
    admin = as_(api, "admin")
    assert (await api.post("/api/v1/agencies", json=agency(), headers=admin)).status_code == 201
    path = f"/api/v1/agencies/{NEW}/procedures"
    assert (await api.get(path)).json() == []
    unknown = await api.put(path, json={"procedures": ["TTHC-20", "KHONG-CO"]}, headers=admin)
    assert unknown.status_code == 422
    assert [e["pointer"] for e in unknown.json()["errors"]] == ["#/procedures/1"]
    assert (await api.get(path)).json() == []
    citizen = await api.put(path, json={"procedures": []}, headers=as_(api, "citizen"))
    assert citizen.status_code == 403

    saved = await api.put(path, json={"procedures": ["TTHC-21", "TTHC-20"]}, headers=admin)
    assert saved.status_code == 200, saved.text
    assert (await api.get(path)).json() == ["TTHC-20", "TTHC-21"]
    listed = await api.get("/api/v1/procedures", params={"agency": NEW})
    assert sorted(p["code"] for p in listed.json()["items"]) == ["TTHC-20", "TTHC-21"]
    detail = await api.get("/api/v1/procedures/TTHC-20")
    assert NEW in detail.json()["offered_by"]  # the cached detail is renewed at once

    await api.put(path, json={"procedures": ["TTHC-21"]}, headers=admin)
    assert NEW not in (await api.get("/api/v1/procedures/TTHC-20")).json()["offered_by"]
    assert (await api.get(f"/api/v1/agencies/{CENTRE}/procedures")).json()  # others unchanged
