"""Submitting dossiers through the gateway (PostgreSQL, Redis, S3): what is checked,
what is refused and how, Idempotency-Key, and codes under 200 parallel submissions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select

from services.intake.models import AuditEntry, Dossier, OutboxRecord
from services.intake.repository import known_documents
from shared.auth import Position, Principal, Role
from shared.db import Database
from tests.conftest import PgDatabase
from tests.documents.conftest import DOCX
from tests.infra import S3Server
from tests.intake.flow import (
    APPLICANT,
    LICENCE,
    LICENCE_FORM,
    PDF,
    at,
    documents_for,
    held_upstream,
    set_clock,
    submit,
    transactions_waiting,
    upload,
)
from tests.platform import CENTRE, Platform, distributed

COMMUNE = "000.31.01.H49"  # Ủy ban nhân dân phường Hồng Gai: a desk of the same province


@pytest.fixture
async def platform(pg_database: PgDatabase, s3_server: S3Server) -> AsyncIterator[Platform]:
    async with distributed(pg_database, s3_server) as running:
        set_clock(running, at("2026-03-02 09:00"))
        yield running


async def counts(platform: Platform) -> tuple[int, int, int]:
    """Dossiers, audit entries and events intake holds: a refusal changes none."""
    database = Database(platform.urls["intake"])
    try:
        async with database.session() as session:
            return (
                int(await session.scalar(select(func.count()).select_from(Dossier)) or 0),
                int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0),
                int(await session.scalar(select(func.count()).select_from(OutboxRecord)) or 0),
            )
    finally:
        await database.dispose()


def pointers(response: Any) -> set[str]:
    return {error.get("pointer") for error in response.json().get("errors", [])}


class TestWhatIsChecked:
    async def test_bad_submissions_get_problem_details_and_change_nothing(
        self, platform: Platform
    ) -> None:
        citizen = platform.citizen("citizen-1")
        documents = await documents_for(platform, LICENCE, citizen)
        before = await counts(platform)

        unknown = await submit(platform, citizen, procedure_code="TTHC-999", documents=documents)
        assert unknown.status_code == 422
        assert unknown.headers["content-type"].startswith("application/problem+json")
        assert pointers(unknown) == {"#/procedure_code"}

        old_version = await submit(platform, citizen, documents=documents, procedure_version=7)
        assert old_version.status_code == 422
        assert pointers(old_version) == {"#/procedure_version"}

        form = {**LICENCE_FORM, "applicant": {**APPLICANT, "id_number": "12"}}
        del form["licence_class"]
        form["issue_date"] = "31/12/2020"
        schema = await submit(platform, citizen, documents=documents, form=form)
        assert schema.status_code == 422
        # A missing field is named at its own path (a form shows the message beside it).
        assert pointers(schema) == {"#/applicant/licence_class",
                                    "#/applicant/applicant/id_number",
                                    "#/applicant/issue_date"}  # fmt: skip
        messages = {e["pointer"]: e["message"] for e in schema.json()["errors"]}
        assert messages["#/applicant/licence_class"] == "Trường này là bắt buộc."
        assert messages["#/applicant/issue_date"] == "Ngày không hợp lệ."
        assert "12" not in schema.text.replace("TTHC", "")  # the value is not echoed

        # An e-form's data too large or too deep to walk: refused before the walk.
        wide = {**LICENCE_FORM, **{f"k{n}": n for n in range(5000)}}
        too_wide = await submit(platform, citizen, documents=documents, form=wide)
        assert too_wide.status_code == 422
        assert pointers(too_wide) == {"#/applicant"}
        assert "quá" in too_wide.text

        missing = await submit(platform, citizen, documents=documents[:1])
        assert missing.status_code == 422
        assert pointers(missing) == {"#/documents"}

        other = platform.citizen("citizen-2")
        someone_elses = await upload(platform, other)
        theirs = [*documents[:-1], {"requirement": documents[-1]["requirement"],
                                    "id": someone_elses}]  # fmt: skip
        stolen = await submit(platform, citizen, documents=theirs)
        assert stolen.status_code == 422
        assert pointers(stolen) == {f"#/documents/{len(documents) - 1}/id"}

        not_online = await submit(platform, citizen, procedure_code="TTHC-09", documents=[])
        assert not_online.status_code == 422
        assert "#/procedure_code" in pointers(not_online)

        extra = await submit(platform, citizen, documents=documents, secret_field=1)
        assert extra.status_code == 422  # unknown fields are refused, not ignored

        desk = platform.officer("desk-1", Position.DESK)
        online_by_officer = await submit(platform, desk, documents=[])
        assert online_by_officer.status_code == 422
        stranger = platform.officer("desk-9", Position.DESK, agency="000.00.07.H49")
        counter_elsewhere = await submit(platform, stranger, documents=[], channel="counter")
        assert counter_elsewhere.status_code == 403
        anonymous = await platform.client.post("/api/v1/dossiers", json={})
        assert anonymous.status_code == 401

        assert await counts(platform) == before

    async def test_any_desk_of_the_province_receives_and_the_competent_one_handles_it(
        self, platform: Platform
    ) -> None:
        """NĐ 118/2025: a province-level dossier filed at a commune's desk goes to the
        provincial centre; the code is the receiving desk's."""
        citizen = platform.citizen("citizen-1")
        filed = await submit(platform, citizen, agency_code=COMMUNE)
        assert filed.status_code == 201, filed.text
        dossier = filed.json()
        assert dossier["code"].startswith(f"{COMMUNE}-260302-")
        assert (dossier["agency_code"], dossier["receiving_agency_code"]) == (CENTRE, COMMUNE)
        elsewhere = await submit(platform, citizen, agency_code="000.00.15.H01")
        assert elsewhere.status_code == 422
        assert pointers(elsewhere) == {"#/agency_code"}

    async def test_a_desk_officer_files_at_the_counter_for_a_walk_in(
        self, platform: Platform
    ) -> None:
        desk = platform.officer("desk-1", Position.DESK)
        procedure = (await platform.client.get(f"/api/v1/procedures/{LICENCE}")).json()
        paper = [i for i, d in enumerate(procedure["required_documents"]) if d["required"]]
        short = await submit(
            platform, desk, channel="counter", documents=[], received_on_paper=paper[1:]
        )
        assert short.status_code == 422
        assert pointers(short) == {"#/documents"}
        filed = await submit(
            platform, desk, channel="counter", documents=[], received_on_paper=paper
        )
        assert filed.status_code == 201, filed.text
        dossier = filed.json()
        assert dossier["channel"] == "counter"
        assert [d["id"] for d in dossier["documents"]] == [None] * len(paper)
        # The counter fee of this procedure is the same as online; the total is exact.
        assert dossier["fee_total_vnd"] == 135000

    async def test_the_desk_digitises_papers_and_links_the_applicants_account(
        self, platform: Platform
    ) -> None:
        """At the counter the desk scans the citizen's papers (each marked digitised,
        which the national index counts) and links the dossier to the account of the ID
        number on the e-form, so the citizen follows it online; no other account."""
        desk = platform.officer("desk-1", Position.DESK)
        procedure = (await platform.client.get(f"/api/v1/procedures/{LICENCE}")).json()
        required = [i for i, d in enumerate(procedure["required_documents"]) if d["required"]]

        async def scan(headers: dict[str, str], agency: str = CENTRE) -> Any:
            return await platform.client.post(
                "/api/v1/documents/scans", headers=headers, data={"agency_code": agency},
                files={"file": ("giấy phép cũ.pdf", PDF, "application/pdf")},
            )  # fmt: skip

        # Only a desk officer of that desk digitises.
        specialist = platform.officer("spec-1", Position.SPECIALIST)
        assert (await scan(specialist)).status_code == 403
        assert (await scan(desk, agency=COMMUNE)).status_code == 403
        scanned = await scan(desk)
        assert scanned.status_code == 201, scanned.text
        assert scanned.json()["kind"] == "scan"

        found = await platform.client.get(
            "/api/v1/citizens", params={"id_number": APPLICANT["id_number"]}, headers=desk
        )
        assert found.status_code == 200, found.text
        [account] = found.json()
        assert account["full_name"] == "Trần Thị Bình"
        nobody = await platform.client.get(
            "/api/v1/citizens", params={"id_number": "001099999999"}, headers=desk
        )
        assert nobody.json() == []
        refused = await platform.client.get(
            "/api/v1/citizens", params={"id_number": APPLICANT["id_number"]}, headers=specialist
        )
        assert refused.status_code == 403
        other = await platform.client.get(
            "/api/v1/citizens", params={"id_number": "001099000002"}, headers=desk
        )
        [someone_else] = other.json()

        documents = [{"requirement": required[0], "id": scanned.json()["id"]}]
        counter: dict[str, Any] = {"channel": "counter", "documents": documents,
                   "received_on_paper": required[1:]}  # fmt: skip
        wrong = await submit(platform, desk, applicant_account=someone_else["id"], **counter)
        assert wrong.status_code == 422
        assert pointers(wrong) == {"#/applicant_account"}
        # A citizen's own file is not the desk's to attach.
        citizen = platform.citizen("citizen-1")
        theirs = await upload(platform, citizen)
        borrowed = await submit(platform, desk, channel="counter", received_on_paper=required[1:],
                                documents=[{"requirement": required[0], "id": theirs}])  # fmt: skip
        assert borrowed.status_code == 422
        assert pointers(borrowed) == {"#/documents/0/id"}
        assert (await counts(platform))[0] == 0  # nothing filed by any of these

        filed = await submit(platform, desk, applicant_account=account["id"], **counter)
        assert filed.status_code == 201, filed.text
        dossier = filed.json()
        assert dossier["applicant_account"] == account["id"]
        assert [(d["id"], d["digitised"]) for d in dossier["documents"]] == [
            (scanned.json()["id"], True),
            *[(None, False)] * len(required[1:]),
        ]
        owner = platform.auth(Principal(subject=account["id"], username=APPLICANT["id_number"],
                                        role=Role.CITIZEN))  # fmt: skip
        mine = await platform.client.get("/api/v1/dossiers", headers=owner)
        assert [item["code"] for item in mine.json()["items"]] == [dossier["code"]]


class TestIdempotency:
    async def test_a_replay_a_changed_body_and_a_retry_in_flight(self, platform: Platform) -> None:
        citizen = platform.citizen("citizen-1")
        documents = await documents_for(platform, LICENCE, citizen)
        key = {"idempotency-key": "7b1e3c1a-first"}

        first = await submit(platform, citizen, documents=documents, extra_headers=key)
        assert first.status_code == 201, first.text
        again = await submit(platform, citizen, documents=documents, extra_headers=key)
        assert again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert (await counts(platform))[0] == 1

        changed = await submit(
            platform, citizen, documents=documents, extra_headers=key, channel="online",
            procedure_version=first.json()["procedure_version"],
        )  # fmt: skip
        assert changed.status_code == 422

        # Keys are the caller's own: another citizen's same key is a new request.
        other = platform.citizen("citizen-2")
        theirs = await submit(
            platform, other, documents=await documents_for(platform, LICENCE, other),
            extra_headers=key,
        )  # fmt: skip
        assert theirs.status_code == 201
        assert theirs.json()["code"] != first.json()["code"]

        # A refused request frees its key: fixed and sent again, it is filed.
        bad_key = {"idempotency-key": "second"}
        refused = await submit(platform, citizen, documents=[], extra_headers=bad_key)
        assert refused.status_code == 422
        fixed = await submit(platform, citizen, documents=documents, extra_headers=bad_key)
        assert fixed.status_code == 201
        assert (await counts(platform))[0] == 3

    async def test_a_retry_while_the_first_still_runs_is_a_409(self, platform: Platform) -> None:
        citizen = platform.citizen("citizen-1")
        documents = await documents_for(platform, LICENCE, citizen)
        key = {"idempotency-key": "slow"}
        upstreams = platform.apps["intake"].state.upstreams
        entered, release = asyncio.Event(), asyncio.Event()
        real = upstreams.procedure

        async def slow(code: str) -> Any:
            entered.set()  # the first submission has claimed its key and is working
            await release.wait()
            return await real(code)

        upstreams.procedure = slow
        first = asyncio.create_task(
            submit(platform, citizen, documents=documents, extra_headers=key)
        )
        try:
            await asyncio.wait_for(entered.wait(), 10)
            upstreams.procedure = real
            retry = await submit(platform, citizen, documents=documents, extra_headers=key)
            assert retry.status_code == 409
            # When to try again: once the first run's lease (30 s) would have ended.
            assert 28 <= int(retry.headers["retry-after"]) <= 30
        finally:
            release.set()
            upstreams.procedure = real
        assert (await first).status_code == 201
        replay = await submit(platform, citizen, documents=documents, extra_headers=key)
        assert replay.json()["code"] == (await first).json()["code"]


async def test_200_parallel_submissions_to_one_desk_get_200_distinct_codes(
    platform: Platform,
) -> None:
    citizen = platform.citizen("citizen-1")
    # The wallet: the same documents reused by every dossier (the index rewards it).
    documents = await documents_for(platform, LICENCE, citizen)
    responses = await asyncio.gather(
        *(submit(platform, citizen, documents=documents) for _ in range(200))
    )
    assert [r.status_code for r in responses] == [201] * 200, next(
        r.text for r in responses if r.status_code != 201
    )
    codes = sorted(r.json()["code"] for r in responses)
    assert codes == [f"{CENTRE}-260302-{n:04d}" for n in range(1, 201)]

    # Intake counts each use in the dossier's transaction: the next dossier is a reuse.
    later = await submit(platform, citizen, documents=documents)
    assert all(document["reused"] for document in later.json()["documents"])
    assert {facts.uses for facts in (await known(platform, documents)).values()} == {201}


async def known(platform: Platform, refs: list[dict[str, Any]]) -> dict[uuid.UUID, Any]:
    database = Database(platform.urls["intake"])
    try:
        async with database.session() as session:
            return await known_documents.lookup(session, (uuid.UUID(r["id"]) for r in refs))
    finally:
        await database.dispose()


async def test_intake_learns_an_uploaded_document_from_its_event(platform: Platform) -> None:
    citizen = platform.citizen("citizen-1")
    refs = await documents_for(platform, LICENCE, citizen)
    found: dict[uuid.UUID, Any] = {}
    for _ in range(200):
        found = await known(platform, refs)
        if len(found) == len(refs):
            break
        await asyncio.sleep(0.05)  # relayed and consumed by workers: nothing to wait on
    assert {(f.owner, f.kind, f.content_type, f.uses) for f in found.values()} == {
        ("citizen-1", "upload", "application/pdf", 0)
    }
    first = await submit(platform, citizen, documents=refs)
    assert first.status_code == 201, first.text
    assert not any(document["reused"] for document in first.json()["documents"])
    assert {f.uses for f in (await known(platform, refs)).values()} == {1}


async def upload_docx(platform: Platform, headers: dict[str, str]) -> str:
    answer = await platform.client.post(
        "/api/v1/documents",
        params={"office": "true"},
        files={"file": ("danh sách.docx", DOCX, "application/octet-stream")},
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    document_id: str = answer.json()["id"]
    return document_id


async def test_an_office_file_is_accepted_only_where_the_requirement_says_so(
    platform: Platform,
) -> None:
    citizen = platform.citizen("citizen-1")
    documents = await documents_for(platform, LICENCE, citizen)
    assert len(documents) >= 2
    # The catalogue's admin says the first requirement takes DOCX and XLSX too.
    admin = platform.auth(Principal(subject="admin", username="admin", role=Role.ADMIN))
    current = (await platform.client.get(f"/api/v1/procedures/{LICENCE}")).json()
    metadata = {"version", "status", "effective_date", "published_at"}
    content = {k: v for k, v in current.items() if k not in metadata}
    content["required_documents"][documents[0]["requirement"]]["office"] = True
    draft = await platform.client.put(
        f"/api/v1/procedures/{LICENCE}/draft", json=content, headers=admin
    )
    assert draft.status_code in (200, 201), draft.text
    published = await platform.client.post(
        f"/api/v1/procedures/{LICENCE}/versions/{draft.json()['version']}/publish",
        json={"effective_date": date.today().isoformat()},
        headers=admin,
    )
    assert published.status_code == 200, published.text
    docx = await upload_docx(platform, citizen)

    elsewhere = [dict(ref) for ref in documents]
    elsewhere[1]["id"] = docx
    refused = await submit(platform, citizen, documents=elsewhere)
    assert refused.status_code == 422, refused.text
    assert pointers(refused) == {"#/documents/1/id"}

    where_accepted = [dict(ref) for ref in documents]
    where_accepted[0]["id"] = docx
    accepted = await submit(platform, citizen, documents=where_accepted)
    assert accepted.status_code == 201, accepted.text


async def test_a_submission_with_a_key_holds_no_transaction_while_documents_answers(
    platform: Platform,
) -> None:
    """Validation asks documents about files intake has not heard of: the transaction
    that commits the dossier with its replayable answer opens only after that."""
    citizen = platform.citizen("citizen-1")
    documents = await documents_for(platform, LICENCE, citizen)
    other = await asyncpg.connect(platform.urls["intake"].replace("+asyncpg", ""))
    try:
        await other.execute("DELETE FROM known_documents")  # documents must be asked
        async with held_upstream(platform, "documents") as asked:
            key = {"Idempotency-Key": str(uuid.uuid4())}
            filing = asyncio.create_task(
                submit(platform, citizen, documents=documents, extra_headers=key)
            )
            await asyncio.wait_for(asked.wait(), 10)
            assert await transactions_waiting(other) == 0
    finally:
        await other.close()
    filed = await filing
    assert filed.status_code == 201, filed.text
