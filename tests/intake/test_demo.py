"""The demo as ``make run`` serves it (embedded: SQLite, local files, in-process events),
with the seeded logins: a citizen submits and follows a dossier; the desk, the leader
and the specialist take it to "returned"; the public lookup follows along."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.intake.flow import LICENCE, LICENCE_FORM, PDF, documents_for
from tests.platform import CENTRE, Platform, embedded, eventually


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    async with embedded(tmp_path) as running:
        yield running


async def login(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}


async def test_a_dossier_from_the_citizen_to_returned_with_the_demo_logins(
    platform: Platform,
) -> None:
    api = platform.client
    citizen = await login(api, "001099000001", "congdan-demo")
    desk = await login(api, "canbo1", "canbo-demo")
    leader = await login(api, "lanhdao1", "canbo-demo")
    specialist = await login(api, "chuyenvien1", "canbo-demo")

    documents = await documents_for(platform, LICENCE, citizen)
    filed = await api.post(
        "/api/v1/dossiers",
        json={
            "procedure_code": LICENCE,
            "agency_code": CENTRE,
            "applicant": LICENCE_FORM,
            "documents": documents,
        },
        headers={**citizen, "idempotency-key": "demo-1"},
    )
    assert filed.status_code == 201, filed.text
    code = filed.json()["code"]

    queue = (await api.get(f"/api/v1/queues/{CENTRE}", headers=desk)).json()
    assert code in [item["code"] for item in queue["items"]]
    assert queue["counts"]["not_received"] == 1

    def action(name: str) -> str:
        return f"/api/v1/dossiers/{code}/actions/{name}"

    assert (await api.post(action("receive"), headers=desk)).status_code == 200
    me = (await api.get("/api/v1/auth/me", headers=specialist)).json()
    assigned = await api.post(action("assign"), json={"assignee": me["id"]}, headers=leader)
    assert assigned.status_code == 200, assigned.text
    dossier = (await api.get(f"/api/v1/dossiers/{code}", headers=specialist)).json()
    result = await api.post(
        "/api/v1/documents/results",
        data={"owner": dossier["applicant_account"], "dossier_code": code, "agency_code": CENTRE},
        files={"file": ("giấy phép lái xe.pdf", PDF, "application/pdf")},
        headers=specialist,
    )
    assert result.status_code == 201, result.text
    resolved = await api.post(
        action("resolve"), json={"result_documents": [result.json()["id"]]}, headers=specialist
    )
    assert resolved.status_code == 200, resolved.text
    returned = await api.post(action("return"), headers=desk)
    assert returned.json()["status"] == "returned"

    followed = (await api.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
    assert (followed["status"], followed["status_label"]) == ("returned", "Đã trả kết quả")
    mine = (await api.get("/api/v1/dossiers", headers=citizen)).json()["items"]
    assert [item["code"] for item in mine] == [code]

    async def in_wallet() -> bool | None:  # the e-result, once documents heard of it
        wallet = (await api.get("/api/v1/documents", headers=citizen)).json()
        return True if result.json()["id"] in [item["id"] for item in wallet] else None

    assert await eventually(in_wallet)
    public = (await api.get(f"/api/v1/lookup/{code}")).json()
    assert public["status_label"] == "Đã trả kết quả"
