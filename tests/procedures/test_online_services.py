"""The online services list: each agency's procedures offered fully (toàn trình) or
partly (một phần) online, with their processing time and fees (PostgreSQL, SQLite)."""

from __future__ import annotations

from typing import Any

import httpx

CENTRE = "000.00.15.H49"


async def listing(api: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    response = await api.get("/api/v1/online-services", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_each_agency_lists_its_online_services_with_time_and_fees(
    api: httpx.AsyncClient,
) -> None:
    found = await listing(api)
    by_agency = {agency["code"]: agency for agency in found["agencies"]}
    assert CENTRE in by_agency
    services = [s for agency in found["agencies"] for s in agency["services"]]
    assert {s["online_level"] for s in services} == {"full", "partial"}
    assert found["full"] + found["partial"] == len(services)
    licence = next(s for s in by_agency[CENTRE]["services"] if s["code"] == "TTHC-20")
    assert licence["online_level"] == "full"  # đổi giấy phép lái xe: toàn trình
    assert licence["processing_time"] == {"unit": "working_days", "value": 5, "cutoff_hour": None}
    assert [fee["amount_vnd"] for fee in licence["fees"]] == [135000]
    # Every procedure an agency offers online is listed under it, none offered offline.
    offered = await api.get("/api/v1/procedures", params={"agency": CENTRE, "online": "any",
                                                          "size": 100})  # fmt: skip
    assert {s["code"] for s in by_agency[CENTRE]["services"]} == {
        item["code"] for item in offered.json()["items"]
    }


async def test_the_list_filters_by_agency_and_level(api: httpx.AsyncClient) -> None:
    full = await listing(api, online="full")
    assert all(s["online_level"] == "full" for a in full["agencies"] for s in a["services"])
    assert full["partial"] == 0
    mine = await listing(api, agency=CENTRE)
    assert [agency["code"] for agency in mine["agencies"]] == [CENTRE]
    assert (await listing(api, agency="000.00.99.X99"))["agencies"] == []
    refused = await api.get("/api/v1/online-services", params={"online": "none"})
    assert refused.status_code == 422
