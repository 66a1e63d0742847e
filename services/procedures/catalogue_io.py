"""The whole catalogue in and out as one JSON document.

Import is all or nothing (one transaction) and never rewrites history: fields and
procedures that are missing are added, versions that are missing are added, a version
that exists must be the same as the imported one (409 otherwise), and the version in
force follows the document.
"""

from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from services.procedures import events as procedure_events
from services.procedures import repository
from services.procedures.admin import new_version
from services.procedures.models import (
    Agency,
    AgencyProcedure,
    Field,
    Procedure,
    VersionStatus,
)
from services.procedures.schemas import (
    CatalogueDocument,
    ExportedProcedure,
    ExportedVersion,
    ImportedAgency,
    ImportedField,
    ImportReport,
    ProcedureContent,
)
from shared.errors import Conflict, Unprocessable
from shared.events import Outbox


async def export_catalogue(session: AsyncSession) -> CatalogueDocument:
    offered = await repository.offers(session)
    versions = defaultdict(list)
    for version in await repository.all_versions(session):
        versions[version.procedure_code].append(
            ExportedVersion(
                version=version.version,
                status=version.status,
                effective_date=version.effective_date,
                published_at=version.published_at,
                content=ProcedureContent.model_validate_json(version.content),
            )
        )
    return CatalogueDocument(
        agencies=_parents_first(
            [ImportedAgency.model_validate(a) for a in await repository.list_agencies(session)]
        ),
        fields=[ImportedField.model_validate(f) for f in await repository.list_fields(session)],
        procedures=[
            ExportedProcedure(
                code=procedure.code,
                current_version=procedure.current_version,
                versions=versions[procedure.code],
                offered_at=offered.get(procedure.code, []),
            )
            for procedure in await repository.all_procedures(session)
        ],
    )


def _parents_first(agencies: list[ImportedAgency]) -> list[ImportedAgency]:
    placed: set[str] = set()
    ordered: list[ImportedAgency] = []
    waiting = agencies
    while waiting:
        ready = [a for a in waiting if a.parent_code is None or a.parent_code in placed]
        if not ready:  # a cycle or a missing parent: keep the rest as they are
            return ordered + waiting
        ordered += ready
        placed |= {a.code for a in ready}
        waiting = [a for a in waiting if a.code not in placed]
    return ordered


def _check(
    document: CatalogueDocument, known_fields: set[str], known_agencies: set[str]
) -> list[dict[str, str]]:
    """What makes the document inconsistent in itself, with pointers into it."""
    problems = []
    agencies = set(known_agencies)
    in_document: set[str] = set()
    for index, agency in enumerate(document.agencies):
        if agency.parent_code is not None and agency.parent_code not in agencies:
            problems.append(
                {
                    "pointer": f"#/agencies/{index}/parent_code",
                    "message": "Cơ quan cấp trên phải có trước.",
                }
            )
        if agency.code in in_document:
            problems.append(
                {"pointer": f"#/agencies/{index}/code", "message": "Mã cơ quan bị lặp."}
            )
        in_document.add(agency.code)
        agencies.add(agency.code)
    known_agencies = agencies
    field_codes: set[str] = set()
    for index, field in enumerate(document.fields):
        if field.code in field_codes:
            problems.append({"pointer": f"#/fields/{index}/code", "message": "Mã lĩnh vực bị lặp."})
        field_codes.add(field.code)
    fields = known_fields | field_codes
    seen: set[str] = set()
    for p_index, procedure in enumerate(document.procedures):
        where = f"#/procedures/{p_index}"
        if procedure.code in seen:
            problems.append({"pointer": f"{where}/code", "message": "Mã thủ tục bị lặp."})
        seen.add(procedure.code)
        for a_index, agency_code in enumerate(procedure.offered_at):
            if agency_code not in known_agencies:
                problems.append(
                    {
                        "pointer": f"{where}/offered_at/{a_index}",
                        "message": "Cơ quan không tồn tại.",
                    }
                )
        numbers = [v.version for v in procedure.versions]
        if len(set(numbers)) != len(numbers):
            problems.append({"pointer": f"{where}/versions", "message": "Phiên bản bị lặp."})
        published = [v.version for v in procedure.versions if v.status is VersionStatus.PUBLISHED]
        expected = [procedure.current_version] if procedure.current_version else []
        if published != expected:
            problems.append(
                {
                    "pointer": f"{where}/current_version",
                    "message": "Phiên bản đang áp dụng phải là phiên bản duy nhất đã công bố.",
                }
            )
        for v_index, version in enumerate(procedure.versions):
            content = version.content
            if content.code != procedure.code:
                problems.append(
                    {
                        "pointer": f"{where}/versions/{v_index}/content/code",
                        "message": "Mã thủ tục không khớp.",
                    }
                )
            if content.field_code not in fields:
                problems.append(
                    {
                        "pointer": f"{where}/versions/{v_index}/content/field_code",
                        "message": "Lĩnh vực không tồn tại.",
                    }
                )
    return problems


async def import_catalogue(
    session: AsyncSession, *, document: CatalogueDocument, outbox: Outbox
) -> ImportReport:
    known_fields = await repository.existing_field_codes(session)
    known_agencies = await repository.existing_agency_codes(session)
    problems = _check(document, known_fields, known_agencies)
    if problems:
        raise Unprocessable("Tệp danh mục không nhất quán.", errors=problems)
    added_agencies = 0
    for agency in document.agencies:
        if agency.code not in known_agencies:
            added = Agency(**agency.model_dump())
            session.add(added)
            await session.flush()  # its children reference it
            procedure_events.agency_upserted(session, outbox, added)
            added_agencies += 1
    added_fields = 0
    for field in document.fields:
        if field.code not in known_fields:
            session.add(Field(code=field.code, name=field.name))
            added_fields += 1
    await session.flush()
    offered = await repository.offers(session)
    added_procedures = added_versions = added_offers = 0
    for item in document.procedures:
        procedure = await repository.get_procedure(session, item.code)
        if procedure is None:
            procedure = Procedure(code=item.code, current_version=None)
            session.add(procedure)
            await session.flush()
            added_procedures += 1
        for exported in item.versions:
            existing = await repository.get_any_version(session, item.code, exported.version)
            if existing is not None:
                # Versions are history: the same number must say the same thing...
                if ProcedureContent.model_validate_json(existing.content) != exported.content:
                    raise Conflict(
                        f"Phiên bản {exported.version} của thủ tục {item.code} đã có và khác."
                    )
                # ...and a version that left draft never goes back to it.
                if existing.status is not VersionStatus.DRAFT and (
                    exported.status is VersionStatus.DRAFT
                ):
                    raise Conflict(
                        f"Phiên bản {exported.version} của thủ tục {item.code} đã công bố."
                    )
                existing.status = exported.status
                existing.effective_date = existing.effective_date or exported.effective_date
                existing.published_at = existing.published_at or exported.published_at
                continue
            version = new_version(exported.content, version=exported.version)
            version.status = exported.status
            version.effective_date = exported.effective_date
            version.published_at = exported.published_at
            session.add(version)
            added_versions += 1
        for agency_code in item.offered_at:
            if agency_code not in offered.get(item.code, []):
                session.add(AgencyProcedure(agency_code=agency_code, procedure_code=item.code))
                added_offers += 1
        procedure.current_version = item.current_version
        # At most one version is published: the one in force after the import.
        await repository.retire_published_except(session, item.code, item.current_version)
        await session.flush()
    return ImportReport(
        agencies=added_agencies,
        fields=added_fields,
        procedures=added_procedures,
        versions=added_versions,
        offers=added_offers,
    )
