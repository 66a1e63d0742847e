"""Editing the catalogue: drafts, validation with pointers, publication, versions, withdrawal."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

EFFECTIVE = {"effective_date": "2026-12-01"}


def as_(api: httpx.AsyncClient, who: str) -> dict[str, str]:
    return {"authorization": f"Bearer {api.headers[f'x-test-{who}']}"}


def new_procedure(**changes: Any) -> dict[str, Any]:
    content: dict[str, Any] = {
        "code": "QN-TEST-01",
        "name": "Cấp giấy phép tổ chức lễ hội",
        "field_code": "xay-dung",
        "level": "province",
        "competent_agency": "Sở Văn hóa, Thể thao và Du lịch",
        "online_level": "partial",
        "processing_time": {"unit": "working_days", "value": 5},
        "processing_time_text": "05 ngày làm việc",
        "fee_text": "Không",
        "required_documents": [{"name": "Văn bản đề nghị", "kind": "original"}],
        "fees": [{"name": "Lệ phí", "amount_vnd": 0}],
        "steps": [
            {"name": "Tiếp nhận", "position": "desk", "budget_hours": 4},
            {"name": "Thẩm định", "position": "specialist", "budget_hours": 28},
            {"name": "Phê duyệt", "position": "leader", "budget_hours": 8},
        ],
        "eform_schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "required": ["ten_le_hoi"],
            "properties": {"ten_le_hoi": {"type": "string", "minLength": 1}},
        },
        "confirmed": {"processing_time": False, "fee": False, "online_level": False},
    }
    content.update(changes)
    return content


async def create(api: httpx.AsyncClient, content: dict[str, Any]) -> httpx.Response:
    return await api.post("/api/v1/procedures", json=content, headers=as_(api, "admin"))


class TestAccess:
    async def test_only_admins_edit(self, api: httpx.AsyncClient) -> None:
        anonymous = await api.post("/api/v1/procedures", json=new_procedure())
        citizen = await api.post(
            "/api/v1/procedures", json=new_procedure(), headers=as_(api, "citizen")
        )
        assert (anonymous.status_code, citizen.status_code) == (401, 403)
        assert (await api.get("/api/v1/procedures/QN-TEST-01")).status_code == 404


class TestDrafts:
    async def test_a_new_procedure_is_a_draft_the_public_cannot_see(
        self, api: httpx.AsyncClient
    ) -> None:
        created = await create(api, new_procedure())
        assert created.status_code == 201
        assert (created.json()["status"], created.json()["version"]) == ("draft", 1)
        assert (await api.get("/api/v1/procedures/QN-TEST-01")).status_code == 404
        found = (await api.get("/api/v1/procedures", params={"q": "le hoi"})).json()
        assert found["total"] == 0

    async def test_a_code_that_exists_is_a_409_and_writes_nothing(
        self, api: httpx.AsyncClient
    ) -> None:
        response = await create(api, new_procedure(code="TTHC-01", name="Khác"))
        assert response.status_code == 409
        current = (await api.get("/api/v1/procedures/TTHC-01")).json()
        assert current["name"] == "Đăng ký khai sinh"

    async def test_malformed_content_is_a_422_with_a_pointer_to_each_field(
        self, api: httpx.AsyncClient
    ) -> None:
        response = await create(
            api,
            new_procedure(
                fees=[{"name": "Lệ phí", "amount_vnd": -1}],
                processing_time={"unit": "working_days"},
            ),
        )
        assert response.status_code == 422
        pointers = {error["pointer"] for error in response.json()["errors"]}
        assert "#/fees/0/amount_vnd" in pointers
        assert any(p.startswith("#/processing_time") for p in pointers)

    async def test_an_unknown_field_is_a_422(self, api: httpx.AsyncClient) -> None:
        response = await create(api, new_procedure(field_code="khong-co"))
        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/field_code"


class TestPublication:
    async def test_a_valid_draft_is_published_once(self, api: httpx.AsyncClient) -> None:
        await create(api, new_procedure())
        url = "/api/v1/procedures/QN-TEST-01/versions/1/publish"
        published = await api.post(url, json=EFFECTIVE, headers=as_(api, "admin"))
        assert published.status_code == 200, published.text
        assert published.json()["effective_date"] == "2026-12-01"
        public = (await api.get("/api/v1/procedures/QN-TEST-01")).json()
        assert (public["status"], public["version"]) == ("published", 1)
        found = (await api.get("/api/v1/procedures", params={"q": "le hoi"})).json()
        assert found["items"][0]["code"] == "QN-TEST-01"  # seen at once
        again = await api.post(url, json=EFFECTIVE, headers=as_(api, "admin"))
        assert again.status_code == 409

    async def test_an_invalid_eform_schema_blocks_publication_with_its_pointer(
        self, api: httpx.AsyncClient
    ) -> None:
        await create(api, new_procedure(eform_schema={"type": "nonsense"}))
        report = await api.post(
            "/api/v1/procedures/QN-TEST-01/draft/validate", headers=as_(api, "admin")
        )
        assert report.json()["valid"] is False
        assert report.json()["errors"][0]["pointer"] == "#/eform_schema/type"
        refused = await api.post(
            "/api/v1/procedures/QN-TEST-01/versions/1/publish",
            json=EFFECTIVE,
            headers=as_(api, "admin"),
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["pointer"] == "#/eform_schema/type"
        draft = await api.get("/api/v1/procedures/QN-TEST-01/draft", headers=as_(api, "admin"))
        assert draft.json()["status"] == "draft"  # nothing changed

    async def test_an_eform_pattern_that_would_backtrack_or_match_keys_is_refused(
        self, api: httpx.AsyncClient
    ) -> None:
        schema = {
            "type": "object",
            "properties": {
                "a": {"type": "string", "pattern": "^(a)\\1$"},  # a back-reference
                "b": {"type": "string", "pattern": "^(?=x)x$"},  # a look-ahead
                "c": {"type": "string", "pattern": "^(a+)+$"},  # fine under RE2
            },
            "patternProperties": {"^x": {"type": "string"}},
        }
        await create(api, new_procedure(eform_schema=schema))
        report = await api.post(
            "/api/v1/procedures/QN-TEST-01/draft/validate", headers=as_(api, "admin")
        )
        assert report.json()["valid"] is False
        assert {e["pointer"] for e in report.json()["errors"]} == {
            "#/eform_schema/properties/a/pattern",
            "#/eform_schema/properties/b/pattern",
            "#/eform_schema/patternProperties",
        }

    async def test_steps_must_fit_the_legal_time(self, api: httpx.AsyncClient) -> None:
        slow = [{"name": "Thẩm định", "position": "specialist", "budget_hours": 41}]
        await create(api, new_procedure(steps=slow))  # 41 h > 5 working days of 8 h
        report = await api.post(
            "/api/v1/procedures/QN-TEST-01/draft/validate", headers=as_(api, "admin")
        )
        assert report.json()["errors"] == [
            {
                "pointer": "#/steps",
                "message": "Tổng thời gian các bước (41 giờ) vượt thời hạn giải quyết "
                "(40 giờ làm việc).",
            }
        ]


class TestVersions:
    async def test_a_new_version_replaces_the_current_one_and_the_old_stays_readable(
        self, api: httpx.AsyncClient
    ) -> None:
        admin = as_(api, "admin")
        current = (await api.get("/api/v1/procedures/TTHC-23")).json()
        metadata = {"version", "status", "effective_date", "published_at"}
        content = {k: v for k, v in current.items() if k not in metadata}
        content["name"] = "Đăng ký tạm trú (sửa đổi)"
        draft = await api.put("/api/v1/procedures/TTHC-23/draft", json=content, headers=admin)
        assert draft.json()["version"] == 2
        assert (await api.get("/api/v1/procedures/TTHC-23")).json()["version"] == 1
        await api.post(
            "/api/v1/procedures/TTHC-23/versions/2/publish", json=EFFECTIVE, headers=admin
        )
        now = (await api.get("/api/v1/procedures/TTHC-23")).json()
        assert (now["version"], now["name"]) == (2, "Đăng ký tạm trú (sửa đổi)")
        pinned = (await api.get("/api/v1/procedures/TTHC-23/versions/1")).json()
        assert (pinned["name"], pinned["status"]) == ("Đăng ký tạm trú", "retired")

    async def test_a_draft_for_another_code_is_a_422(self, api: httpx.AsyncClient) -> None:
        response = await api.put(
            "/api/v1/procedures/TTHC-23/draft",
            json=new_procedure(code="TTHC-22"),
            headers=as_(api, "admin"),
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "#/code"

    async def test_withdrawing_hides_a_procedure_but_keeps_its_versions(
        self, api: httpx.AsyncClient
    ) -> None:
        admin = as_(api, "admin")
        assert (
            await api.post("/api/v1/procedures/TTHC-23/unpublish", headers=admin)
        ).status_code == 204
        assert (await api.get("/api/v1/procedures/TTHC-23")).status_code == 404
        assert (await api.get("/api/v1/procedures/TTHC-23/versions/1")).status_code == 200
        again = await api.post("/api/v1/procedures/TTHC-23/unpublish", headers=admin)
        assert again.status_code == 409

    @pytest.mark.parametrize("version", [1, 99])
    async def test_publishing_what_is_not_a_draft_is_refused(
        self, api: httpx.AsyncClient, version: int
    ) -> None:
        response = await api.post(
            f"/api/v1/procedures/TTHC-23/versions/{version}/publish",
            json=EFFECTIVE,
            headers=as_(api, "admin"),
        )
        assert response.status_code == (409 if version == 1 else 404)


async def test_a_version_number_past_what_a_column_holds_is_a_422(api: httpx.AsyncClient) -> None:
    for version in (2**31, 2**63, 2**64):
        read = await api.get(f"/api/v1/procedures/TTHC-01/versions/{version}")
        assert read.status_code == 422, read.text
        published = await api.post(
            f"/api/v1/procedures/TTHC-01/versions/{version}/publish",
            json={"effective_date": "2026-12-31"},
            headers=as_(api, "admin"),
        )
        assert published.status_code == 422, published.text
    assert (await api.get("/api/v1/procedures/TTHC-01/versions/99")).status_code == 404
