"""The citizen rates the service once the result is returned; tracking counts it in
the satisfaction indicator (5.c)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.auth import Position
from tests.intake.flow import PDF, act, submit
from tests.platform import CENTRE, Platform, embedded, eventually


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    async with embedded(tmp_path) as running:
        yield running


async def returned(platform: Platform, citizen: dict[str, str]) -> str:
    """A dossier of ``citizen`` resolved, then returned; its code."""
    filed = await submit(platform, citizen)
    assert filed.status_code == 201, filed.text
    code: str = filed.json()["code"]
    desk = platform.officer("desk-1", Position.DESK)
    specialist = platform.officer("spec-1", Position.SPECIALIST)
    assert (await act(platform, code, "receive", desk)).status_code == 200
    assert (await act(platform, code, "assign", specialist)).status_code == 200
    result = await platform.client.post(
        "/api/v1/documents/results",
        data={"owner": "citizen-1", "dossier_code": code, "agency_code": CENTRE},
        files={"file": ("kết quả.pdf", PDF, "application/pdf")},
        headers=specialist,
    )
    assert result.status_code == 201, result.text
    resolved = await act(platform, code, "resolve", specialist,
                         result_documents=[result.json()["id"]])  # fmt: skip
    assert resolved.status_code == 200, resolved.text
    return code


async def rate(platform: Platform, code: str, headers: dict[str, str], **body: Any) -> Any:
    return await platform.client.post(f"/api/v1/dossiers/{code}/rating", json=body, headers=headers)


async def satisfaction(platform: Platform) -> dict[str, Any]:
    report = await platform.client.get("/api/v1/stats/index", headers=platform.admin())
    [indicator] = [i for i in report.json()["indicators"] if i["code"] == "5.c"]
    return dict(indicator["rate"])


async def test_rated_once_after_the_return_and_counted(platform: Platform) -> None:
    citizen = platform.citizen("citizen-1")
    code = await returned(platform, citizen)
    # Not before the result is returned.
    assert (await rate(platform, code, citizen, score=5)).status_code == 409
    assert (await act(platform, code, "return", platform.officer("desk-1", Position.DESK))
            ).status_code == 200  # fmt: skip
    before = await satisfaction(platform)
    # Only the applicant, only 1 to 5, nothing more than asked.
    assert (await rate(platform, code, platform.citizen("citizen-2"), score=5)).status_code == 404
    officer = platform.officer("desk-1", Position.DESK)
    assert (await rate(platform, code, officer, score=5)).status_code == 403
    for bad in ({"score": 0}, {"score": 6}, {"score": 3, "extra": 1}, {"comment": "x"}):
        assert (await rate(platform, code, citizen, **bad)).status_code == 422, bad
    assert (await rate(platform, code, citizen, score=2, comment="x" * 1001)).status_code == 422

    rated = await rate(platform, code, citizen, score=2, comment="  Chờ lâu ở quầy.  ")
    assert rated.status_code == 201, rated.text
    assert rated.json()["rating"]["score"] == 2
    assert rated.json()["rating"]["comment"] == "Chờ lâu ở quầy."
    again = await rate(platform, code, citizen, score=5)
    assert again.status_code == 409
    shown = await platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)
    assert shown.json()["rating"]["score"] == 2  # the first rating stands

    async def counted() -> dict[str, Any] | None:
        now = await satisfaction(platform)
        return (
            now if now["inputs"]["dissatisfied"] == before["inputs"]["dissatisfied"] + 1 else None
        )

    after = await eventually(counted)
    assert after["inputs"]["rated"] == before["inputs"]["rated"] + 1
    assert after["inputs"]["late_or_dissatisfied"] == before["inputs"]["late_or_dissatisfied"] + 1
