"""The procedures service's reference data: the real catalogue, and the agencies of one real
province (the demo's, and an install's own from a file in the same form)."""

from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from services.procedures import service as procedure_service
from services.procedures.models import OutboxRecord
from services.procedures.schemas import (
    AgencySeed,
    Confirmed,
    DocumentKind,
    FeeItem,
    ProcedureContent,
    ProcessingTime,
    RequiredDocument,
)
from services.procedures.workflow import default_steps
from shared.events import Outbox

SEED_DATA = Path(__file__).parent / "seed_data"
AGENCIES_FILE = SEED_DATA / "agencies.yaml"
SOURCE_FILE = SEED_DATA / "source" / "procedures.yaml"  # as shipped in ../shared/data
CATALOGUE_FILE = SEED_DATA / "catalogue.yaml"  # the structured facts added by hand
EFORMS_FILE = SEED_DATA / "eforms.yaml"  # the applicant's data, per procedure
JSON_SCHEMA_2020_12 = "https://json-schema.org/draft/2020-12/schema"
# The seeded versions take effect with the two-level local government (NĐ 118/2025).
SEED_EFFECTIVE = date(2025, 7, 1)


def load_agencies(path: Path = AGENCIES_FILE) -> list[AgencySeed]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [AgencySeed.model_validate(item) for item in document["agencies"]]


def document_of(text: str) -> RequiredDocument:
    """A required document from the source's wording; its kind only where the text says it."""
    lowered = text.lower()
    if "xuất trình" in lowered:
        kind = DocumentKind.PRESENTED
    elif "bản sao có chứng thực" in lowered:
        kind = DocumentKind.CERTIFIED_COPY
    elif lowered.startswith("bản chính"):
        kind = DocumentKind.ORIGINAL
    elif lowered.startswith("bản sao"):
        kind = DocumentKind.COPY
    else:
        kind = DocumentKind.UNSPECIFIED
    optional = "(nếu" in lowered or "trường hợp" in lowered or "(chỉ khi" in lowered
    return RequiredDocument(name=text, kind=kind, required=not optional)


def eform_schema(title: str, own: dict[str, Any], eforms: dict[str, Any]) -> dict[str, Any]:
    """A procedure's e-form: the common applicant block and the procedure's own fields."""
    return {
        "$schema": JSON_SCHEMA_2020_12,
        "title": title,
        "type": "object",
        "$defs": eforms["definitions"],
        "required": ["applicant", *own.get("required", [])],
        "properties": {"applicant": eforms["applicant"], **own["properties"]},
        "additionalProperties": False,
    }


def load_catalogue() -> tuple[dict[str, str], list[ProcedureContent]]:
    """The fields and the 33 real procedures: the source's facts plus the structured overlay."""
    source: list[dict[str, Any]] = yaml.safe_load(SOURCE_FILE.read_text(encoding="utf-8"))
    overlay = yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))
    eforms = yaml.safe_load(EFORMS_FILE.read_text(encoding="utf-8"))
    fields: dict[str, str] = overlay["fields"]
    field_codes = {name: code for code, name in fields.items()}
    procedures = []
    for entry in source:
        facts = overlay["procedures"][entry["id"]]
        time = ProcessingTime.model_validate(facts["time"]) if facts["time"] else None
        procedures.append(
            ProcedureContent(
                code=entry.get("national_code") or entry["id"],
                name=entry["name_vi"],
                name_en=entry.get("name_en"),
                field_code=field_codes[entry["field"]],
                level=entry["level"],
                level_before_2025_07=entry.get("level_before_2025_07"),
                competent_agency=entry["agency"],
                online_level=facts["online"],
                processing_time=time,
                processing_time_text=entry["processing_time"],
                fee_text=entry["fee"],
                fees=[FeeItem.model_validate(fee) for fee in facts["fees"]],
                result_documents=facts["results"],
                steps=default_steps(time),
                required_documents=[document_of(text) for text in entry["documents"]],
                eform_schema=eform_schema(
                    entry["name_vi"], eforms["procedures"][entry["id"]], eforms
                ),
                legal_basis=entry["legal_basis"],
                sources=entry["sources"],
                notes=entry.get("notes"),
                confirmed=Confirmed(
                    processing_time=entry["processing_time_confirmed"],
                    fee=entry["fee_confirmed"],
                    online_level=entry["online_level_confirmed"],
                ),
            )
        )
    return fields, procedures


async def seed(session: AsyncSession, *, agencies_file: Path = AGENCIES_FILE) -> dict[str, int]:
    """The agencies (the shipped province's, or an operator's file in the same form),
    the catalogue, and which agency's desk receives which procedures."""
    agencies = load_agencies(agencies_file)
    outbox = Outbox(OutboxRecord, source="procedures")
    added_agencies = await procedure_service.seed_agencies(
        session, agencies=agencies, outbox=outbox
    )
    fields, procedures = load_catalogue()
    added = await procedure_service.seed_catalogue(
        session, fields=fields, procedures=procedures, effective=SEED_EFFECTIVE
    )
    offers = await procedure_service.seed_offers(session, agencies=agencies, procedures=procedures)
    return {"agencies": added_agencies, "procedures": added, "offers": offers}
