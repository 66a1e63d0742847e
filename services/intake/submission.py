"""Accepting a dossier: everything is checked before anything is written.

The procedure's version in force is pinned; the applicant's data is validated against
its e-form (JSON Schema, formats checked); every required document must be given, be
the submitter's own and ready (as documents announced it, else as documents answers the
caller); fees come from the catalogue. Then, atomically (``filing``): the files' use
counts, the code, the dossier, the first audit entry and the ``dossier.submitted`` event
(documents learns which agencies may read the files).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import audit, views
from services.intake.config import IntakeSettings
from services.intake.machine import Status
from services.intake.models import AuditEntry, Dossier
from services.intake.repository import filing, idempotency, known_documents
from services.intake.schemas import SubmissionIn
from services.intake.state import DossierDocument, FeeItem
from services.intake.upstreams import DocumentFacts, Upstreams
from shared import eforms
from shared.auth import Position, Principal, Role
from shared.contracts.dossiers import DossierDocuments, DossierEvent
from shared.contracts.procedures import AgencyFacts, ProcedureFacts
from shared.db import Database
from shared.errors import Forbidden, Unprocessable, json_pointer
from shared.events import Outbox

# What an applicant may give (DESIGN §7); documents has already checked the bytes.
OFFICE_TYPES = frozenset(
    {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
)  # only for a requirement that accepts them (RequiredDocumentFacts.office)
ACCEPTED_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"}) | OFFICE_TYPES
# Documents shown at the desk are not kept: nothing to upload for them.
NOT_UPLOADED = frozenset({"presented"})
FEE_CHANNEL = {"online": "online", "counter": "counter", "post": "counter"}


def invalid(detail: str, field: str, message: str) -> Unprocessable:
    """A 422 about one field of the body."""
    problems = Problems()
    problems.add([field], message)
    return Unprocessable(detail, errors=problems.items)


class Problems:
    """Every reason a submission is refused, each with a pointer into the body."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, location: list[str | int], message: str) -> None:
        self.items.append(
            {"location": "body", "pointer": json_pointer(location), "message": message}
        )

    def raise_if_any(self, detail: str) -> None:
        if self.items:
            raise Unprocessable(detail, errors=self.items)


def province_of(agency_code: str) -> str:
    """The province part of an agency code (``V1V2V3.Z1Z2.Y1Y2.MX1X2``, QCVN 102:2016)."""
    return agency_code.rsplit(".", 1)[-1]


# -- the e-form ---------------------------------------------------------------------------


def eform_problems(
    schema: dict[str, Any], data: dict[str, Any]
) -> Iterator[tuple[list[str | int], str]]:
    for path, message in eforms.problems(schema, data):
        yield ["applicant", *path], message


# -- fees -----------------------------------------------------------------------------------


def fees_for(procedure: ProcedureFacts, channel: str) -> tuple[list[FeeItem], int | None]:
    """The fee items that apply to the channel, and their total (None if one is open)."""
    applying = [fee for fee in procedure.fees if fee.channel in ("any", FEE_CHANNEL[channel])]
    items = [FeeItem.model_validate(fee, from_attributes=True) for fee in applying]
    amounts = [fee.amount_vnd for fee in applying if fee.condition is None]
    total = None if any(a is None for a in amounts) else sum(a for a in amounts if a is not None)
    return items, total


# -- checks ---------------------------------------------------------------------------------


def _check_submitter(body: SubmissionIn, principal: Principal) -> tuple[str | None, str]:
    """The applicant's account and who files it: a citizen online, a desk officer at the
    counter or for a dossier that came by post."""
    if principal.role is Role.CITIZEN:
        if body.channel != "online" or body.applicant_account is not None:
            raise Forbidden("Công dân chỉ nộp hồ sơ trực tuyến cho chính mình.")
        return principal.subject, principal.subject
    if principal.role is Role.OFFICER:
        desks = {m.agency_code for m in principal.agencies if m.position is Position.DESK}
        if body.agency_code not in desks:
            raise Forbidden("Chỉ cán bộ một cửa của nơi tiếp nhận nhập hồ sơ thay công dân.")
        if body.channel == "online":
            raise invalid(
                "Hồ sơ do cán bộ nhập là hồ sơ trực tiếp hoặc qua bưu chính.",
                "channel",
                "counter hoặc post",
            )
        return body.applicant_account, principal.subject
    raise Forbidden("Chỉ công dân hoặc cán bộ một cửa nộp được hồ sơ.")


async def _check_agencies(
    body: SubmissionIn, procedure: ProcedureFacts, upstreams: Upstreams, problems: Problems
) -> tuple[AgencyFacts | None, str | None]:
    """The receiving desk and the agency that handles the dossier (NĐ 118/2025: any desk
    of the province receives; the dossier goes to a desk that offers the procedure)."""
    receiving = await upstreams.agency(body.agency_code)
    if receiving is None:
        problems.add(["agency_code"], "Không có cơ quan mã này.")
        return None, None
    handling = body.handling_agency_code
    if handling is None:
        offered = procedure.offered_by
        if body.agency_code in offered:
            handling = body.agency_code
        else:
            same_province = [a for a in offered if province_of(a) == province_of(body.agency_code)]
            if len(same_province) == 1:
                handling = same_province[0]
            else:
                problems.add(
                    ["handling_agency_code"],
                    "Nơi tiếp nhận không giải quyết thủ tục này: cần chọn cơ quan giải quyết.",
                )
                return receiving, None
    if handling not in procedure.offered_by:
        problems.add(["handling_agency_code"], "Cơ quan này không giải quyết thủ tục này.")
        return receiving, None
    if province_of(handling) != province_of(body.agency_code):
        problems.add(["handling_agency_code"], "Chỉ tiếp nhận hồ sơ của cơ quan trong cùng tỉnh.")
        return receiving, None
    return receiving, handling


async def _check_linked_account(
    body: SubmissionIn, account: str, authorization: str, upstreams: Upstreams,
    problems: Problems,
) -> None:  # fmt: skip
    """A counter dossier is linked only to the account of the person the e-form names
    (by their ID number): not to whichever account the desk typed."""
    applicant = body.applicant.get("applicant")
    id_number = applicant.get("id_number") if isinstance(applicant, dict) else None
    found = None
    if isinstance(id_number, str) and id_number.isdigit() and len(id_number) == 12:
        found = await upstreams.citizen(id_number, authorization)
    if found is None or found.id != account:
        problems.add(
            ["applicant_account"], "Không phải tài khoản của người có số định danh trong tờ khai."
        )


async def check_documents(
    session: AsyncSession,
    refs: list[Any],
    *,
    location: str,
    owner: str,
    authorization: str,
    upstreams: Upstreams,
    problems: Problems,
    requirements: int,
    office_requirements: frozenset[int] | None = None,
    found: dict[uuid.UUID, DocumentFacts] | None = None,
    kinds: frozenset[str] | None = None,
) -> list[DocumentFacts]:
    """Each document exists, is the caller's own, is ready and of an accepted type (an
    office format only for the requirements in ``office_requirements``; None: any):
    from what intake knows, and from documents for any it has not heard of yet (or
    ``found``: the files' facts, asked before)."""
    if found is None:
        found = await known_documents.lookup(session, (ref.id for ref in refs))
        unknown = [ref.id for ref in refs if ref.id not in found]
        if unknown:
            found.update(await upstreams.own_documents(unknown, authorization))
    seen: set[Any] = set()
    usable: list[DocumentFacts] = []
    for index, ref in enumerate(refs):
        facts = found.get(ref.id)
        if ref.requirement >= requirements:
            problems.add([location, index, "requirement"], "Thủ tục không có thành phần này.")
        if ref.id in seen:
            problems.add([location, index, "id"], "Tài liệu được đính kèm hai lần.")
        seen.add(ref.id)
        if facts is None or facts.owner != owner:
            problems.add([location, index, "id"], "Không có tài liệu này trong kho của bạn.")
        elif facts.status != "ready":
            problems.add([location, index, "id"], "Tài liệu chưa sẵn sàng (đang kiểm tra).")
        elif kinds is not None and facts.kind not in kinds:
            problems.add([location, index, "id"], "Chỉ đính kèm giấy tờ đã số hóa tại quầy.")
        elif facts.content_type not in ACCEPTED_TYPES:
            problems.add([location, index, "id"], "Loại tệp không được chấp nhận.")
        elif (
            facts.content_type in OFFICE_TYPES
            and office_requirements is not None
            and ref.requirement not in office_requirements
        ):
            problems.add([location, index, "id"], "Thành phần này chỉ nhận tệp PDF, JPEG, PNG.")
        else:
            usable.append(facts)
    return usable


def _missing_documents(body: SubmissionIn, procedure: ProcedureFacts, problems: Problems) -> None:
    if body.received_on_paper and body.channel == "online":
        problems.add(["received_on_paper"], "Hồ sơ trực tuyến không có giấy tờ bản giấy.")
    for index, number in enumerate(body.received_on_paper):
        if number >= len(procedure.required_documents):
            problems.add(["received_on_paper", index], "Thủ tục không có thành phần này.")
    given = {ref.requirement for ref in body.documents} | set(body.received_on_paper)
    for index, requirement in enumerate(procedure.required_documents):
        if requirement.required and requirement.kind not in NOT_UPLOADED and index not in given:
            problems.add(["documents"], f"Thiếu thành phần hồ sơ: {requirement.name}")


@dataclass(frozen=True)
class Accepted:
    """A submission that passed every check, and what was learned checking it."""

    procedure: ProcedureFacts
    handling: str  # the agency that handles it
    applicant: str | None  # the citizen's account
    submitter: str
    documents: tuple[DocumentFacts, ...]  # the files given, as checked

    @property
    def reused(self) -> frozenset[uuid.UUID]:
        return reused(self.documents)


def reused(documents: Iterable[DocumentFacts]) -> frozenset[uuid.UUID]:
    """The files an earlier dossier already used (the national index counts reuse)."""
    return frozenset(facts.id for facts in documents if facts.uses > 0)


async def validate(
    session: AsyncSession,
    body: SubmissionIn,
    principal: Principal,
    *,
    authorization: str,
    upstreams: Upstreams,
) -> Accepted:
    """Everything a submission must satisfy: 403/422 with every problem found."""
    applicant, submitter = _check_submitter(body, principal)
    problems = Problems()
    procedure = await upstreams.procedure(body.procedure_code)
    if procedure is None:
        problems.add(["procedure_code"], "Không có thủ tục mã này.")
        problems.raise_if_any("Thủ tục không tồn tại.")
    assert procedure is not None
    if body.procedure_version is not None and body.procedure_version != procedure.version:
        problems.add(
            ["procedure_version"],
            f"Phiên bản đang áp dụng của thủ tục là {procedure.version}.",
        )
    if body.channel == "online" and procedure.online_level == "none":
        problems.add(["procedure_code"], "Thủ tục này không được cung cấp trực tuyến.")
    _, handling = await _check_agencies(body, procedure, upstreams, problems)
    if procedure.eform_schema is not None:
        for location, message in eform_problems(procedure.eform_schema, body.applicant):
            problems.add(location, message)
    _missing_documents(body, procedure, problems)
    if applicant is not None and principal.role is Role.OFFICER:
        await _check_linked_account(body, applicant, authorization, upstreams, problems)
    usable = await check_documents(
        session,
        body.documents,
        location="documents",
        owner=submitter,
        authorization=authorization,
        upstreams=upstreams,
        problems=problems,
        requirements=len(procedure.required_documents),
        office_requirements=frozenset(
            i for i, requirement in enumerate(procedure.required_documents) if requirement.office
        ),
        # At the counter, only what the desk digitised from the citizen's papers.
        kinds=frozenset({"scan"}) if principal.role is Role.OFFICER else None,
    )
    problems.raise_if_any("Hồ sơ chưa hợp lệ.")
    assert handling is not None
    return Accepted(procedure, handling, applicant, submitter, tuple(usable))


async def record(
    session: AsyncSession,
    outbox: Outbox,
    *,
    body: SubmissionIn,
    accepted: Accepted,
    principal: Principal,
    now: datetime | None = None,
) -> Dossier:
    """Write the dossier, its first audit entry and its event (``filing``: one statement
    on PostgreSQL; the caller's session commits, or needs no commit)."""
    now = now or datetime.now(UTC)
    dossier = _new_dossier(body, accepted, principal, now)
    handling = accepted.handling
    event = DossierDocuments(
        at=now,
        owner=accepted.submitter,
        documents=[ref.id for ref in body.documents],
        agency_codes=list(dict.fromkeys([handling, body.agency_code])),
    )
    new = filing.NewDossier(
        dossier=dossier,
        entry=_first_entry(dossier, principal, now),
        event=(DossierEvent.SUBMITTED, event.model_dump(mode="json")),
        files=accepted.documents,
        receiving_agency_code=body.agency_code,
        at=now,
    )
    await filing.write(session, outbox, new)
    return dossier


def _new_dossier(
    body: SubmissionIn, accepted: Accepted, principal: Principal, now: datetime
) -> Dossier:
    """The dossier as filed: the procedure's version in force pinned on it, before its
    code (``filing`` numbers it as it writes)."""
    procedure = accepted.procedure
    fees, total = fees_for(procedure, body.channel)
    at_counter = principal.role is Role.OFFICER  # its files are the desk's scans
    documents = [
        DossierDocument(
            requirement=ref.requirement,
            id=ref.id,
            reused=ref.id in accepted.reused,
            digitised=at_counter,
        )
        for ref in body.documents
    ] + [DossierDocument(requirement=index, id=None) for index in body.received_on_paper]
    return Dossier(
        status=Status.SUBMITTED.value,
        sequence=1,
        audit_sequence=1,
        procedure_code=procedure.code,
        procedure_version=procedure.version,
        procedure_name=procedure.name,
        field_code=procedure.field_code,
        agency_code=accepted.handling,
        receiving_agency_code=body.agency_code,
        channel=body.channel,
        applicant=accepted.applicant,
        submitted_by=accepted.submitter,
        # Only the citizen's own login says who they are; an officer filing for them
        # checked a card, which the index does not count as VNeID.
        applicant_verified=principal.role is Role.CITIZEN and principal.identity_verified,
        applicant_data=body.applicant,
        applicant_name=applicant_name(body.applicant),
        documents=documents,
        fees=fees,
        fee_total_vnd=total,
        time_limit=procedure.processing_time,
        supplement_policy=procedure.supplement_policy,
        pauses=[],
        submitted_at=now,
        supplement_requests=0,
        steps=[],
        result_documents=[],
        updated_at=now,
    )


def applicant_name(data: dict[str, Any]) -> str | None:
    """The name the e-form's common applicant block gives (every e-form has one)."""
    block = data.get("applicant")
    name = block.get("full_name") if isinstance(block, dict) else None
    return name[:200] if isinstance(name, str) else None


def _first_entry(dossier: Dossier, principal: Principal, now: datetime) -> AuditEntry:
    """The audit trail's first entry: who filed what, where."""
    return AuditEntry(
        sequence=1,
        prev_hash=audit.GENESIS,
        actor=principal.subject,
        role=principal.role.value,
        action="submit",
        from_status=None,
        to_status=Status.SUBMITTED.value,
        at=now,
        details={
            "procedure": f"{dossier.procedure_code}@{dossier.procedure_version}",
            "channel": dossier.channel,
            "agency_code": dossier.agency_code,
            "receiving_agency_code": dossier.receiving_agency_code,
            "documents": len(dossier.documents),
        },
    )


@dataclass(frozen=True)
class Answer:
    """What the submission answers: the dossier filed now, or the first answer replayed."""

    status_code: int
    body: dict[str, Any]
    headers: dict[str, str]


async def submit(
    database: Database,
    outbox: Outbox,
    *,
    body: SubmissionIn,
    raw_body: bytes,
    principal: Principal,
    authorization: str,
    idempotency_key: str | None,
    upstreams: Upstreams,
    settings: IntakeSettings,
    now: datetime,
) -> Answer:
    """File a dossier: claim the idempotency key (or replay the answer it already has),
    validate, record, answer. A key whose request fails is released, so that the
    corrected request can use it again."""
    claimed: idempotency.Claim | None = None
    if idempotency_key is not None:
        idempotency.check_key(idempotency_key)
        found = await idempotency.claim(
            database,
            caller=principal.subject,
            key=idempotency_key,
            print_=idempotency.fingerprint(raw_body),
            lease_seconds=settings.idempotency_lease_seconds,
        )
        if isinstance(found, idempotency.Replay):
            return Answer(found.status_code, found.body, {"Idempotent-Replayed": "true"})
        claimed = found
    try:
        if claimed is None:
            # The dossier is one statement on PostgreSQL: no transaction (``filing``).
            async with database.one_statement_session() as session:
                accepted = await validate(
                    session, body, principal, authorization=authorization, upstreams=upstreams
                )
                dossier = await record(
                    session, outbox, body=body, accepted=accepted, principal=principal, now=now
                )
                answer = views.full(dossier, now=dossier.submitted_at).model_dump(mode="json")
        else:
            # The answer to replay commits with the dossier: a transaction, opened only
            # once validation (which asks other services) is done, so that a slow
            # service holds no transaction and no pooled connection for its wait.
            async with database.read_session() as reading:
                accepted = await validate(
                    reading, body, principal, authorization=authorization, upstreams=upstreams
                )
            async with database.session() as session:
                dossier = await record(
                    session, outbox, body=body, accepted=accepted, principal=principal, now=now
                )
                answer = views.full(dossier, now=dossier.submitted_at).model_dump(mode="json")
                await idempotency.complete(session, claimed, status_code=201, body=answer)
    except BaseException:
        if claimed is not None:
            await idempotency.release(database, claimed)
        raise
    return Answer(201, answer, {"Location": f"/api/v1/dossiers/{dossier.code}"})
