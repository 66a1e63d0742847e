"""Editing the catalogue (admin): drafts, validation, publication, withdrawal.

A procedure is edited as one draft at a time. Publishing makes the draft an immutable
version with an effective date and the one in force; the version it replaces is retired
but stays readable, because dossiers pin the version they were submitted under.
"""

from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.procedures import repository, validation
from services.procedures.models import Procedure, ProcedureVersion, VersionStatus
from services.procedures.schemas import ProcedureContent, ValidationReport, VersionSummary
from services.procedures.text import fold
from shared.errors import Conflict, NotFound, Unprocessable


def new_version(content: ProcedureContent, *, version: int) -> ProcedureVersion:
    return ProcedureVersion(
        procedure_code=content.code,
        version=version,
        status=VersionStatus.DRAFT,
        **_denormalised(content),
    )


def _denormalised(content: ProcedureContent) -> dict[str, object]:
    return {
        "name": content.name,
        "name_search": fold(content.name),
        "field_code": content.field_code,
        "level": content.level,
        "online_level": content.online_level,
        "processing_time": (
            content.processing_time.model_dump_json() if content.processing_time else None
        ),
        "content": content.model_dump_json(),
    }


async def _procedure_or_raise(session: AsyncSession, code: str) -> Procedure:
    procedure = await repository.get_procedure(session, code)
    if procedure is None:
        raise NotFound(f"Không có thủ tục mã {code}.")
    return procedure


async def _field_or_raise(session: AsyncSession, content: ProcedureContent) -> None:
    # A draft may be incomplete, but it must point at a field that exists.
    if content.field_code not in await repository.existing_field_codes(session):
        raise Unprocessable(
            "Lĩnh vực không tồn tại.",
            errors=[{"pointer": "#/field_code", "message": "Lĩnh vực không tồn tại."}],
        )


async def create_procedure(session: AsyncSession, *, content: ProcedureContent) -> ProcedureVersion:
    """A new procedure with its first draft."""
    if await repository.get_procedure(session, content.code) is not None:
        raise Conflict(f"Đã có thủ tục mã {content.code}.")
    await _field_or_raise(session, content)
    session.add(Procedure(code=content.code, current_version=None))
    await session.flush()
    draft = new_version(content, version=1)
    session.add(draft)
    await session.flush()
    return draft


async def save_draft(
    session: AsyncSession, *, code: str, content: ProcedureContent
) -> ProcedureVersion:
    """Replace the procedure's draft, or start one after the latest version."""
    if content.code != code:
        raise Unprocessable(
            "Mã thủ tục không khớp với đường dẫn.",
            errors=[{"pointer": "#/code", "message": "Mã thủ tục không khớp với đường dẫn."}],
        )
    await _procedure_or_raise(session, code)
    await _field_or_raise(session, content)
    draft = await repository.get_draft(session, code)
    if draft is None:
        draft = new_version(
            content, version=await repository.latest_version_number(session, code) + 1
        )
        session.add(draft)
    else:
        for name, value in _denormalised(content).items():
            setattr(draft, name, value)
    await session.flush()
    return draft


async def get_draft_or_raise(session: AsyncSession, *, code: str) -> ProcedureVersion:
    draft = await repository.get_draft(session, code)
    if draft is None:
        raise NotFound(f"Thủ tục {code} không có bản nháp.")
    return draft


async def validate_draft(session: AsyncSession, *, code: str) -> ValidationReport:
    draft = await get_draft_or_raise(session, code=code)
    found = validation.problems(
        ProcedureContent.model_validate_json(draft.content),
        known_fields=await repository.existing_field_codes(session),
    )
    return ValidationReport(valid=not found, errors=found)


async def publish(
    session: AsyncSession, *, code: str, version: int, effective_date: date
) -> ProcedureVersion:
    """Make a draft the version in force; 409 if it was published already."""
    procedure = await _procedure_or_raise(session, code)
    target = await repository.get_any_version(session, code, version)
    if target is None:
        raise NotFound(f"Thủ tục {code} không có phiên bản {version}.")
    if target.status is not VersionStatus.DRAFT:
        raise Conflict(f"Phiên bản {version} của thủ tục {code} đã được công bố.")
    report = await validate_draft(session, code=code)
    if not report.valid:
        raise Unprocessable(
            "Bản nháp chưa đủ điều kiện công bố.",
            errors=[problem.model_dump() for problem in report.errors],
        )
    if procedure.current_version is not None:
        current = await repository.get_any_version(session, code, procedure.current_version)
        if current is not None:
            current.status = VersionStatus.RETIRED
    target.status = VersionStatus.PUBLISHED
    target.effective_date = effective_date
    target.published_at = datetime.now(UTC)
    procedure.current_version = version
    await session.flush()
    return target


async def unpublish(session: AsyncSession, *, code: str) -> None:
    """Withdraw a procedure from the catalogue; its versions stay readable."""
    procedure = await _procedure_or_raise(session, code)
    if procedure.current_version is None:
        raise Conflict(f"Thủ tục {code} đang không được công bố.")
    current = await repository.get_any_version(session, code, procedure.current_version)
    if current is not None:
        current.status = VersionStatus.RETIRED
    procedure.current_version = None
    await session.flush()


async def versions(session: AsyncSession, *, code: str) -> list[VersionSummary]:
    """Every version of a procedure, withdrawn or not, the newest first."""
    found = await repository.versions(session, code)
    if not found:
        raise NotFound(f"Không có thủ tục {code}.")
    return [VersionSummary.model_validate(version) for version in found]
