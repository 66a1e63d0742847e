"""The real catalogue, searched on PostgreSQL and on SQLite through the service's API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from services.procedures.text import fold

BIRTH = "Đăng ký khai sinh"


async def search(api: httpx.AsyncClient, **params: str | int) -> dict[str, Any]:
    response = await api.get("/api/v1/procedures", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def names(page: dict[str, Any]) -> list[str]:
    return [item["name"] for item in page["items"]]


class TestFolding:
    @pytest.mark.parametrize(
        ("text", "folded"),
        [
            ("Đăng ký khai sinh", "dang ky khai sinh"),
            ("Cấp Giấy chứng nhận quyền sử dụng đất", "cap giay chung nhan quyen su dung dat"),
            ("  Tư pháp – Chứng thực ", "tu phap chung thuc"),
            ("ĐĂNG KÝ", "dang ky"),
        ],
    )
    def test_vietnamese_folds_to_plain_words(self, text: str, folded: str) -> None:
        assert fold(text) == folded


class TestSearch:
    @pytest.mark.parametrize(
        "query", ["dang ky khai sinh", "khai sinh đăng ký", "Đăng ký khai sinh"]
    )
    async def test_three_spellings_find_birth_registration_first(
        self, api: httpx.AsyncClient, query: str
    ) -> None:
        assert names(await search(api, q=query))[0] == BIRTH

    async def test_a_query_without_diacritics_ranks_the_exact_name_first(
        self, api: httpx.AsyncClient
    ) -> None:
        found = names(await search(api, q="cap ban sao trich luc ho tich"))
        assert found[0] == "Cấp bản sao trích lục hộ tịch"

    async def test_the_last_word_may_be_half_typed(self, api: httpx.AsyncClient) -> None:
        assert names(await search(api, q="dang ky khai si"))[0] == BIRTH
        assert (await search(api, q="dan ky khai sinh"))["total"] == 0  # only the last

    async def test_a_page_past_the_end_is_empty_but_keeps_the_total(
        self, api: httpx.AsyncClient
    ) -> None:
        page = await search(api, q="dang ky", page=50)
        assert page["items"] == []
        assert page["total"] == (await search(api, q="dang ky"))["total"] > 0

    async def test_every_word_must_match(self, api: httpx.AsyncClient) -> None:
        assert (await search(api, q="khai sinh xe may"))["total"] == 0

    async def test_a_field_filter_narrows(self, api: httpx.AsyncClient) -> None:
        everything = await search(api, q="dang ky", size=100)
        civil = await search(api, q="dang ky", field="ho-tich", size=100)
        assert 0 < civil["total"] < everything["total"]
        assert {item["field_code"] for item in civil["items"]} == {"ho-tich"}

    async def test_the_online_list_holds_full_and_partial_services_only(
        self, api: httpx.AsyncClient
    ) -> None:
        online = await search(api, online="any", size=100)
        assert online["total"] == 32  # 33 real procedures, one (chứng thực chữ ký) not online
        assert {i["online_level"] for i in online["items"]} == {"full", "partial"}
        full = await search(api, online="full", size=100)
        assert 0 < full["total"] < online["total"]

    async def test_level_filter(self, api: httpx.AsyncClient) -> None:
        commune = await search(api, level="commune", size=100)
        province = await search(api, level="province", size=100)
        assert (commune["total"], province["total"]) == (19, 14)

    async def test_pages_follow_each_other_without_overlap(self, api: httpx.AsyncClient) -> None:
        first = await search(api, size=10, page=1)
        second = await search(api, size=10, page=2)
        assert first["total"] == second["total"] == 33
        assert not set(names(first)) & set(names(second))

    @pytest.mark.parametrize(
        "params", [{"q": "x" * 201}, {"size": 101}, {"page": 0}, {"level": "district"}]
    )
    async def test_out_of_bounds_queries_are_422(
        self, api: httpx.AsyncClient, params: dict[str, str | int]
    ) -> None:
        response = await api.get("/api/v1/procedures", params=params)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"


class TestReading:
    async def test_a_procedure_reads_with_its_structured_time_and_confirmed_facts(
        self, api: httpx.AsyncClient
    ) -> None:
        found = (await search(api, q=BIRTH))["items"][0]
        procedure = (await api.get(f"/api/v1/procedures/{found['code']}")).json()
        same_day = {"unit": "same_day", "value": None, "cutoff_hour": 15}
        assert procedure["processing_time"] == found["processing_time"] == same_day
        assert procedure["confirmed"]["processing_time"] is True
        assert procedure["online_level"] == "full"
        assert procedure["version"] == 1
        assert procedure["status"] == "published"
        # An instant with its offset, on SQLite too.
        assert datetime.fromisoformat(procedure["published_at"]).utcoffset() is not None

    async def test_a_national_code_is_used_where_the_source_gives_one(
        self, api: httpx.AsyncClient
    ) -> None:
        procedure = (await api.get("/api/v1/procedures/1.004873")).json()
        assert procedure["name"] == "Cấp Giấy xác nhận tình trạng hôn nhân"
        assert procedure["processing_time"]["value"] == 3

    async def test_a_pinned_version_stays_readable(self, api: httpx.AsyncClient) -> None:
        assert (await api.get("/api/v1/procedures/TTHC-01/versions/1")).status_code == 200
        missing = await api.get("/api/v1/procedures/TTHC-01/versions/2")
        assert missing.status_code == 404

    async def test_an_unknown_code_is_404(self, api: httpx.AsyncClient) -> None:
        response = await api.get("/api/v1/procedures/NO-SUCH")
        assert (response.status_code, response.json()["detail"]) == (
            404,
            "Không có thủ tục mã NO-SUCH.",
        )

    async def test_the_sixteen_fields_are_listed(self, api: httpx.AsyncClient) -> None:
        fields = (await api.get("/api/v1/fields")).json()
        assert len(fields) == 16
        assert {"code": "ho-tich", "name": "Hộ tịch"} in fields


class TestOffers:
    async def test_a_commune_desk_offers_the_commune_procedures(
        self, api: httpx.AsyncClient
    ) -> None:
        commune = await search(api, agency="000.31.01.H49", size=100)
        centre = await search(api, agency="000.00.15.H49", size=100)
        assert (commune["total"], centre["total"]) == (19, 14)
        assert {i["level"] for i in commune["items"]} == {"commune"}
        birth = await search(api, agency="000.31.01.H49", q="khai sinh")
        assert names(birth)[0] == BIRTH
        assert (await search(api, agency="000.00.15.H49", q="khai sinh"))["total"] == 0

    async def test_every_agency_follows_the_national_calendar_unless_told(
        self, api: httpx.AsyncClient
    ) -> None:
        agencies = (await api.get("/api/v1/agencies")).json()
        assert {a["calendar_code"] for a in agencies} == {"national"}
