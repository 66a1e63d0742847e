"""Who may read a document, the wallet and its reuse, results, and the download audit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from services.documents.config import DocumentsSettings
from services.documents.consumers import apply_submission
from services.documents.models import DownloadAudit
from shared.contracts.dossiers import DossierDocuments, DossierEvent
from shared.contracts.events import EventEnvelope
from shared.db import Database
from shared.events import InProcessBus
from shared.runtime import open_runtime
from tests.documents.conftest import CENTRE, DOCX, OTHER, PDF, PEOPLE, PNG, Client, announced

ISSUED = DossierEvent.RESULTS_ISSUED


async def submitted(
    settings: DocumentsSettings, dossier: str, documents: list[str], agencies: list[str],
    owner: str = "c-1", event: DossierEvent = DossierEvent.SUBMITTED,
) -> None:  # fmt: skip
    """intake's ``dossier.submitted`` (or another event with the same payload), as the
    documents consumer receives it."""
    payload = DossierDocuments(
        at=datetime.now(UTC),
        owner=owner,
        documents=[uuid.UUID(document) for document in documents],
        agency_codes=agencies,
    )
    envelope = EventEnvelope(
        type=event,
        source="intake",
        subject=dossier,
        sequence=1,
        payload=payload.model_dump(mode="json"),
    )
    async with (
        open_runtime(settings, bus=InProcessBus()) as runtime,
        runtime.db.session() as session,
    ):
        await apply_submission(runtime, session, envelope)


async def audit(settings: DocumentsSettings) -> list[tuple[str, str | None]]:
    database = Database(settings.db_url)
    try:
        async with database.session() as session:
            rows = await session.execute(
                select(DownloadAudit.subject, DownloadAudit.agency_code).order_by(DownloadAudit.id)
            )
            return [(subject, agency) for subject, agency in rows]
    finally:
        await database.dispose()


@pytest.fixture
async def document(client: Client, documents_settings: DocumentsSettings) -> dict[str, Any]:
    created: dict[str, Any] = (await client.upload(PDF)).json()
    await submitted(documents_settings, "000.00.15.H49-261123-0001", [created["id"]], [CENTRE])
    return created


class TestAuthorisation:
    @pytest.mark.parametrize(
        ("who", "status"),
        [
            ("citizen", 200),  # the owner
            ("officer", 200),  # of the agency handling a dossier that uses it
            ("other_officer", 404),  # of another agency
            ("other_citizen", 404),
            ("admin", 403),  # personal documents are not an admin's to read (by role)
            (None, 401),
        ],
    )
    async def test_download_matrix(
        self, client: Client, document: dict[str, Any], who: str | None, status: int
    ) -> None:
        for path in (f"/api/v1/documents/{document['id']}/download",
                     f"/api/v1/documents/{document['id']}"):  # fmt: skip
            assert (await client.get(path, who=who)).status_code == status

    async def test_someone_elses_id_looks_like_no_id(
        self, client: Client, document: dict[str, Any]
    ) -> None:
        theirs = await client.get(f"/api/v1/documents/{document['id']}", who="other_citizen")
        unknown = await client.get("/api/v1/documents/00000000-0000-0000-0000-000000000000")
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.json()["detail"] == unknown.json()["detail"]

    async def test_every_link_is_audited(
        self, client: Client, document: dict[str, Any], documents_settings: DocumentsSettings
    ) -> None:
        await client.get(f"/api/v1/documents/{document['id']}/download")
        await client.get(f"/api/v1/documents/{document['id']}/download", who="officer")
        await client.get(f"/api/v1/documents/{document['id']}/download", who="other_officer")
        assert await audit(documents_settings) == [("c-1", None), ("o-1", CENTRE)]

    async def test_a_redirect_when_asked(self, client: Client, document: dict[str, Any]) -> None:
        response = await client.get(f"/api/v1/documents/{document['id']}/download", redirect="true")
        assert response.status_code == 307
        assert response.headers["location"]

    async def test_shown_inline_only_as_a_pdf_or_an_image(
        self, client: Client, document: dict[str, Any]
    ) -> None:
        """A PDF or an image is shown in the browser when asked; an office file is
        downloaded whatever is asked (its viewer is another program). What each link
        makes the store answer is tested against both stores in tests/shared."""

        async def link(document_id: str, **params: str) -> str:
            answer = await client.get(f"/api/v1/documents/{document_id}/download", **params)
            url: str = answer.json()["url"]
            return url

        assert "inline" in await link(document["id"], inline="true")
        assert "inline" not in await link(document["id"])
        office = await client.http.post(
            "/api/v1/documents", params={"office": "true"}, headers=client.auth("citizen"),
            files={"file": ("don.docx", DOCX, "application/octet-stream")},
        )  # fmt: skip
        assert "inline" not in await link(office.json()["id"], inline="true")


class TestScans:
    async def test_a_desk_scan_is_the_officers_until_a_dossier_names_it(
        self, client: Client
    ) -> None:
        async def scan(who: str, agency: str) -> Any:
            return await client.http.post(
                "/api/v1/documents/scans", headers=client.auth(who),
                data={"agency_code": agency, "kind": "giay-phep-lai-xe-cu"},
                files={"file": ("giấy phép.pdf", PDF, "application/pdf")},
            )  # fmt: skip

        assert (await scan("citizen", CENTRE)).status_code == 403
        assert (await scan("officer", OTHER)).status_code == 403  # not their desk
        made = await scan("officer", CENTRE)
        assert made.status_code == 201, made.text
        assert (made.json()["kind"], made.json()["owner"]) == ("scan", "o-1")
        theirs = (await client.upload(PDF)).json()["id"]
        # Asked by id (as intake does when the desk files): only the officer's own.
        listed = await client.get(
            "/api/v1/documents", who="officer", id=[made.json()["id"], theirs]
        )
        assert [d["id"] for d in listed.json()] == [made.json()["id"]]
        other = await client.get("/api/v1/documents", who="other_officer", id=made.json()["id"])
        assert other.json() == []


class TestWallet:
    async def test_a_document_given_once_serves_two_dossiers(
        self, client: Client, documents_settings: DocumentsSettings
    ) -> None:
        document = (await client.upload(PDF)).json()
        await submitted(documents_settings, "A-1", [document["id"]], [CENTRE])
        await submitted(documents_settings, "B-2", [document["id"]], [OTHER])
        [listed] = (await client.get("/api/v1/documents")).json()
        assert listed["uses"] == 2
        assert listed["dossiers"] == ["A-1", "B-2"]  # the citizen sees where it served
        # The second dossier's agency can now read it too.
        path = f"/api/v1/documents/{document['id']}"
        assert (await client.get(path, who="other_officer")).status_code == 200
        dossier = (await client.get("/api/v1/documents", who="other_officer", dossier="B-2")).json()
        assert [item["id"] for item in dossier] == [document["id"]]

    async def test_a_dossier_cannot_claim_someone_elses_document(
        self, client: Client, documents_settings: DocumentsSettings
    ) -> None:
        document = (await client.upload(PDF)).json()
        await submitted(documents_settings, "C-3", [document["id"]], [OTHER], owner="c-2")
        path = f"/api/v1/documents/{document['id']}"
        assert (await client.get(path, who="other_officer")).status_code == 404

    async def test_an_officer_lists_by_dossier_only(self, client: Client) -> None:
        assert (await client.get("/api/v1/documents", who="officer")).status_code == 422


class TestResults:
    async def result(self, client: Client, who: str, agency: str) -> Any:
        return await client.http.post(
            "/api/v1/documents/results",
            files={"file": ("giay-khai-sinh.png", PNG, "image/png")},
            data={"owner": PEOPLE["citizen"].subject, "dossier_code": "R-1", "agency_code": agency},
            headers=client.auth(who),
        )

    async def test_an_issued_result_lands_in_the_citizens_wallet(
        self, client: Client, documents_settings: DocumentsSettings
    ) -> None:
        response = await self.result(client, "officer", CENTRE)
        assert response.status_code == 201, response.text
        assert (response.json()["kind"], response.json()["issued_by"]) == ("result", CENTRE)
        # Announced as the citizen's, already used by the dossier it answers.
        [ready] = await announced(documents_settings)
        assert (ready["id"], ready["owner"], ready["kind"], ready["uses"]) == (
            response.json()["id"],
            "c-1",
            "result",
            1,
        )
        # Not the citizen's until the dossier's resolution issues it.
        result = response.json()["id"]
        assert (await client.get("/api/v1/documents")).json() == []
        assert (await client.get(f"/api/v1/documents/{result}/download")).status_code == 404
        await submitted(documents_settings, "R-1", [result], [CENTRE], event=ISSUED)
        wallet = (await client.get("/api/v1/documents")).json()
        assert [item["kind"] for item in wallet] == ["result"]
        link = await client.get(f"/api/v1/documents/{wallet[0]['id']}/download")
        assert link.status_code == 200

    @pytest.mark.parametrize(
        "field",
        [
            {"owner": "c" * 65},
            {"dossier_code": "R" * 61},
            {"agency_code": CENTRE + "x" * 20},
            {"kind": "k" * 101},
            {"kind": "Giấy tờ"},
        ],
        ids=["owner", "dossier code", "agency code", "kind", "kind not a code"],
    )
    async def test_a_field_beyond_its_declared_shape_is_422_and_keeps_nothing(
        self, client: Client, documents_settings: DocumentsSettings, field: dict[str, str]
    ) -> None:
        """Each field fits its column: on PostgreSQL a longer one was a 500."""
        data = {"owner": "c-1", "dossier_code": "R-1", "agency_code": CENTRE, **field}
        response = await client.http.post(
            "/api/v1/documents/results",
            files={"file": ("ket-qua.png", PNG, "image/png")},
            data=data,
            headers=client.auth("officer"),
        )
        assert response.status_code == 422, response.text
        [name] = field
        assert response.json()["errors"][0]["pointer"] == f"#/{name}"
        assert await announced(documents_settings) == []

    @pytest.mark.parametrize(
        ("dossier", "owner"),
        [("R-2", "c-1"), ("R-1", "c-2")],
        ids=["another dossier", "another owner"],
    )
    async def test_only_its_own_dossier_issues_a_result_to_its_owner(
        self, client: Client, documents_settings: DocumentsSettings, dossier: str, owner: str
    ) -> None:
        result = (await self.result(client, "officer", CENTRE)).json()["id"]
        await submitted(documents_settings, dossier, [result], [CENTRE], owner=owner, event=ISSUED)
        assert (await client.get("/api/v1/documents")).json() == []
        assert (await client.get("/api/v1/documents", who="other_citizen")).json() == []
        # The agency still has it, for the dossier it was stored for.
        [kept] = (await client.get("/api/v1/documents", who="officer", dossier="R-1")).json()
        assert kept["id"] == result

    @pytest.mark.parametrize(("who", "agency"), [("other_officer", CENTRE), ("citizen", CENTRE)])
    async def test_only_an_officer_of_the_agency_issues(
        self, client: Client, who: str, agency: str
    ) -> None:
        assert (await self.result(client, who, agency)).status_code == 403


class TestAccesses:
    async def test_the_citizen_sees_which_officers_read_their_documents(
        self, client: Client, documents_settings: DocumentsSettings
    ) -> None:
        document = (await client.upload(PDF, name="tờ khai.pdf")).json()
        await submitted(documents_settings, "A-1", [document["id"]], [CENTRE])
        await client.get(f"/api/v1/documents/{document['id']}/download")  # their own
        await client.get(f"/api/v1/documents/{document['id']}/download", who="officer")
        await client.get(f"/api/v1/documents/{document['id']}/download", who="other_officer")
        answer = await client.get("/api/v1/documents/accesses", dossier="A-1")
        assert answer.status_code == 200, answer.text
        seen = answer.json()
        # The officer of the agency on the dossier; not the citizen, not a refused one.
        assert [(a["document_name"], a["position"], a["agency_code"]) for a in seen] == [
            ("tờ khai.pdf", "desk", CENTRE)
        ]
        assert "o-1" not in str(seen)
        # Another dossier, another citizen, an officer: nothing, or refused.
        assert (await client.get("/api/v1/documents/accesses", dossier="B-2")).json() == []
        others = await client.get("/api/v1/documents/accesses", dossier="A-1", who="other_citizen")
        assert others.json() == []
        refused = await client.get("/api/v1/documents/accesses", dossier="A-1", who="officer")
        assert refused.status_code == 403
