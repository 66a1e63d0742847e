"""One OpenAPI document for the public API: every service's routes, every reference
resolving, and two services' schemas of one name kept apart."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from services.gateway.openapi import merge
from tests.platform import embedded


def schema(ref: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{ref}"}


def document(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {}, "paths": paths, "components": {"schemas": schemas}}


def test_a_schema_two_services_name_alike_is_kept_twice_with_its_references() -> None:
    own = document(
        {"/api/v1/auth/me": {"get": {"responses": {"200": schema("Out")}}}},
        {"Out": {"type": "object", "properties": {"id": {"type": "string"}}}},
    )
    intake = document(
        {"/api/v1/dossiers": {"get": {"responses": {"200": schema("Out")}}},
         "/openapi-only/internal": {"get": {}}},
        {"Out": {"type": "object", "properties": {"code": {"type": "string"}}},
         "Page": {"type": "array", "items": schema("Out")}},
    )  # fmt: skip
    merged = merge(own, {"intake": intake})
    assert set(merged["paths"]) == {"/api/v1/auth/me", "/api/v1/dossiers"}
    schemas = merged["components"]["schemas"]
    assert schemas["Out"]["properties"] == {"id": {"type": "string"}}
    assert schemas["intake.Out"]["properties"] == {"code": {"type": "string"}}
    assert schemas["Page"]["items"] == schema("intake.Out")
    assert merged["paths"]["/api/v1/dossiers"]["get"]["responses"]["200"] == schema("intake.Out")


async def test_the_platform_serves_one_document_for_every_service(tmp_path: Path) -> None:
    async with embedded(tmp_path) as platform:
        answer = await platform.client.get("/api/v1/openapi.json")
        assert answer.status_code == 200
        merged = answer.json()
        docs = await platform.client.get("/docs")
        assert docs.status_code == 200
        assert "/api/v1/openapi.json" in docs.text
    paths = merged["paths"]
    for path in ("/api/v1/auth/token", "/api/v1/admin/portal-sync", "/api/v1/procedures",
                 "/api/v1/dossiers", "/api/v1/queues/{agency_code}", "/api/v1/documents",
                 "/api/v1/calendars/{key}/deadline", "/api/v1/online-services"):  # fmt: skip
        assert path in paths, path
    assert all(path.startswith("/api/v1/") for path in paths)
    schemas = merged["components"]["schemas"]
    for ref in set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(merged))):
        assert ref in schemas, ref


async def test_every_operation_declares_its_problems_and_its_credential(tmp_path: Path) -> None:
    async with embedded(tmp_path) as platform:
        document = (await platform.client.get("/api/v1/openapi.json")).json()
        token = await platform.client.post(
            "/api/v1/auth/token", data={"username": "001099000001", "password": "nope"}
        )
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    problem = {"$ref": "#/components/schemas/Problem"}
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            allowed = set(operation["x-access"]["allow"])
            responses = operation["responses"]
            for status in ("401", "429", "503"):
                assert status in responses, where
            if allowed <= {"public", "signed"}:
                assert operation["security"] == [], where
            else:
                assert operation["security"] == [{"bearer": []}], where
                assert responses["403"]["content"]["application/problem+json"]["schema"] == (
                    problem
                ), where
            if "422" in responses:
                assert list(responses["422"]["content"]) == ["application/problem+json"], where
            if "requestBody" in operation:
                assert {"400", "413", "422"} <= set(responses), where
            checked += 1
    assert checked > 40
    # What the document says of a wrong login is what the login answers.
    assert token.status_code == 401
    assert token.headers["content-type"] == "application/problem+json"
    assert "401" in document["paths"]["/api/v1/auth/token"]["post"]["responses"]
