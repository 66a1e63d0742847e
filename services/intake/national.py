"""What the portal sync reads of a dossier (``shared.contracts.national``): the record
and its audit trail, and the list of every dossier's version for reconciliation."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import repository
from services.intake.state import DOCUMENTS, FEES
from services.intake.views import local
from shared.contracts.national import NationalRecord, NationalStep, NationalVersion

# A walk-in at the counter may give no name in the e-form's applicant block; the portal
# requires ChuHoSo all the same.
UNNAMED = "(không ghi tên)"


async def record(session: AsyncSession, code: str) -> NationalRecord | None:
    dossier = await repository.get_by_code(session, code)
    if dossier is None:
        return None
    entries = await repository.audit_trail(session, code)
    applicant = dossier.applicant_data.get("applicant")
    name = applicant.get("full_name") if isinstance(applicant, dict) else None
    return NationalRecord(
        code=dossier.code,
        version=dossier.audit_sequence,
        status=dossier.status,
        procedure_code=dossier.procedure_code,
        procedure_name=dossier.procedure_name,
        field_code=dossier.field_code,
        agency_code=dossier.agency_code,
        channel=dossier.channel,
        applicant_name=name if isinstance(name, str) and name.strip() else UNNAMED,
        submitted_at=local(dossier.submitted_at),
        received_at=local(dossier.received_at),
        due_at=local(dossier.appointment_at or dossier.due_at),
        finished_at=local(dossier.finished_at),
        documents=DOCUMENTS.dump_python(dossier.documents, mode="json"),
        fees=FEES.dump_python(dossier.fees, mode="json"),
        steps=[
            NationalStep(
                sequence=entry.sequence,
                at=local(entry.at),
                action=entry.action,
                status=entry.to_status,
                actor=entry.actor,
                actor_role=entry.role,
                details=entry.details,
            )
            for entry in entries
        ],
    )


async def versions(
    session: AsyncSession, *, after: str | None, limit: int
) -> tuple[list[NationalVersion], str | None]:
    """Dossiers by code after ``after``: a page, and the code to continue from."""
    rows = await repository.versions_after(session, after=after, limit=limit)
    items = [NationalVersion(code=code, version=version) for code, version in rows]
    return items, (items[-1].code if len(items) == limit else None)
