"""What fuzzing against the OpenAPI document found, each pinned: answers that told a
client something other than the document (tests/fuzz runs the fuzzer itself)."""

from __future__ import annotations

from pathlib import Path

from tests.platform import embedded


async def test_a_method_a_path_lacks_is_405_naming_every_method_it_has(tmp_path: Path) -> None:
    async with embedded(tmp_path) as platform:
        admin = platform.admin()
        # GET and POST of one path are two routes: Starlette named only the first's.
        changes = await platform.client.options("/api/v1/calendars/national/changes", headers=admin)
        assert changes.status_code == 405
        assert changes.headers["allow"] == "GET, POST"
        assert changes.headers["content-type"] == "application/problem+json"
        # A literal path beside a parameter's (/documents/{document_id}) is no document id:
        # its missing method is 405, not a 422 about the id's shape.
        results = await platform.client.get("/api/v1/documents/results", headers=admin)
        assert results.status_code == 405
        assert results.headers["allow"] == "POST"
        uploads = await platform.client.get("/api/v1/documents/uploads", headers=admin)
        assert (uploads.status_code, uploads.headers["allow"]) == (405, "POST")


async def test_dates_in_a_query_are_iso_8601_text_only(tmp_path: Path) -> None:
    async with embedded(tmp_path) as platform:
        admin = platform.admin()
        # pydantic read "0" as Unix time 0: a report for 1970 nobody asked for.
        for query in ({"to": "0"}, {"from": "1733000000"}, {"to": "2026-1-5"}):
            answer = await platform.client.get(
                "/api/v1/stats/timeliness", params=query, headers=admin
            )
            assert answer.status_code == 422, (query, answer.text)
        fine = await platform.client.get(
            "/api/v1/stats/timeliness", params={"from": "2026-01-01", "to": "2026-01-31"},
            headers=admin,
        )  # fmt: skip
        assert fine.status_code == 200, fine.text
        # "Since ever" and "until whenever": their local midnights are outside what a
        # UTC instant can hold (a 500 before); the report covers every dossier.
        for report in ("timeliness", "index"):
            for query in ({"from": "0001-01-01"}, {"from": "2026-01-01", "to": "9999-12-31"}):
                answer = await platform.client.get(
                    f"/api/v1/stats/{report}", params=query, headers=admin
                )
                assert answer.status_code == 200, (report, query, answer.text)
        for start in ("0", "2026-12-04", "2026-12-04T08:00:00"):  # a number, a date, no offset
            answer = await platform.client.get(
                "/api/v1/calendars/national/deadline",
                params={"start": start, "working_days": 3},
            )
            assert answer.status_code == 422, (start, answer.text)
        due = await platform.client.get(
            "/api/v1/calendars/national/deadline",
            params={"start": "2026-12-04T08:00:00+07:00", "working_days": 3},
        )
        assert due.status_code == 200, due.text


async def test_a_login_form_is_refused_by_the_shape_it_documents(tmp_path: Path) -> None:
    async with embedded(tmp_path) as platform:
        token = "/api/v1/auth/token"
        for form in (
            {"username": "", "password": "x"},
            {"username": "001099000001", "password": ""},
            {"username": "001099000001", "password": "congdan-demo", "grant_type": "null"},
            {"username": "001099000001", "password": "p" * 129},
        ):
            answer = await platform.client.post(token, data=form)
            assert answer.status_code == 422, (form, answer.text)
        schema = (await platform.client.get("/api/v1/openapi.json")).json()
        login = schema["components"]["schemas"]["PasswordLogin"]["properties"]
        assert login["username"]["minLength"] == 1
        assert login["grant_type"]["const"] == "password"  # no null: a form cannot send one
        ok = await platform.client.post(
            token,
            data={"username": "001099000001", "password": "congdan-demo", "grant_type": "password",
                  "scope": "", "client_id": "any"},
        )  # fmt: skip
        assert ok.status_code == 200, ok.text


async def test_redirects_are_declared_with_their_location(tmp_path: Path) -> None:
    async with embedded(tmp_path) as platform:
        paths = (await platform.client.get("/api/v1/openapi.json")).json()["paths"]
        start = paths["/api/v1/auth/vneid"]["get"]["responses"]["302"]
        download = paths["/api/v1/documents/{document_id}/download"]["get"]["responses"]["307"]
        for declared in (start, download):
            assert "Location" in declared["headers"]
        callback = {
            p["name"]: p["schema"]
            for p in paths["/api/v1/auth/vneid/callback"]["get"]["parameters"]
        }
        assert callback["assertion"]["pattern"].startswith("^[A-Za-z0-9_-]+\\.")


# uvicorn's parser (httptools) refuses a request target of 64 KiB or more with a bare
# 400 before any route: a query a client may send must stay under it.
MAX_TARGET_BYTES = 65_535
# A character percent-encoded in four UTF-8 bytes takes 12 bytes of the target.
WORST_BYTES_PER_CHARACTER = 12


async def test_no_query_the_document_allows_outgrows_what_the_server_reads(
    tmp_path: Path,
) -> None:
    async with embedded(tmp_path) as platform:
        paths = (await platform.client.get("/api/v1/openapi.json")).json()["paths"]
    unbounded, too_long = [], []
    for path, operations in paths.items():
        for method, operation in operations.items():
            target = len(path) + 200  # the path's own parameters are short codes
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                schema = parameter["schema"]
                options = schema.get("anyOf", [schema])
                items = [o.get("items", o) for o in options if o.get("type") == "array"]
                texts = [o for o in (*options, *items) if o.get("type") == "string"]
                for text in texts:
                    if not {"maxLength", "format", "enum", "const"} & set(text):
                        unbounded.append(f"{method} {path} {parameter['name']}")
                longest = max((t.get("maxLength", 40) for t in texts), default=20)
                repeats = max((o.get("maxItems", 1) for o in options if "items" in o), default=1)
                # One over the bound, as a fuzzer sends it, in four-byte characters.
                target += repeats * (len(parameter["name"]) + 2
                                     + (longest + 1) * WORST_BYTES_PER_CHARACTER)  # fmt: skip
            if target >= MAX_TARGET_BYTES:
                too_long.append(f"{method} {path}: {target}")
    assert not unbounded, unbounded
    assert not too_long, too_long
