from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.procedures.models import AgencyLevel, OnlineLevel, VersionStatus
from shared.auth import Position
from shared.db import INT32_MAX

AGENCY_CODE = r"^[A-Za-z0-9.\-]{1,30}$"
PROCEDURE_CODE = r"^[A-Za-z0-9.\-]{1,40}$"
MAX_VERSION = INT32_MAX  # what the version columns hold


class AgencyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: AgencyLevel
    parent_code: str | None
    address: str | None
    calendar_code: str


class AgencySeed(BaseModel):
    """An agency as the seed file describes it."""

    code: str
    name: str
    level: AgencyLevel
    parent_code: str | None = None
    address: str | None = None
    code_confirmed: bool = False
    # Levels of procedure its desk receives (see seed_data/agencies.yaml).
    offers: list[AgencyLevel] = Field(default_factory=list)


class TimeUnit(StrEnum):
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    CALENDAR_DAYS = "calendar_days"  # some laws count plain days (e.g. Lý lịch tư pháp)
    SAME_DAY = "same_day"  # result the day of receipt (hộ tịch, chứng thực)


class ProcessingTime(BaseModel):
    """The legal processing time, as a value the deadline engine can use."""

    unit: TimeUnit
    value: int | None = Field(default=None, gt=0, le=365)
    # Same-day procedures: received after this hour, the result is due the next working day.
    cutoff_hour: int | None = Field(default=None, ge=0, le=23)

    @model_validator(mode="after")
    def _value_fits_unit(self) -> "ProcessingTime":
        if (self.unit is TimeUnit.SAME_DAY) != (self.value is None):
            raise ValueError("same_day has no value; every other unit needs one")
        if self.cutoff_hour is not None and self.unit is not TimeUnit.SAME_DAY:
            raise ValueError("only same_day procedures have a cut-off hour")
        return self


class Confirmed(BaseModel):
    """Which facts were read in a cited source (True) and which are not yet verified."""

    processing_time: bool
    fee: bool
    online_level: bool
    # Result documents are named after the procedure's law, not read in a source.
    result_documents: bool = False


class DocumentKind(StrEnum):
    ORIGINAL = "original"  # bản chính
    COPY = "copy"  # bản sao
    CERTIFIED_COPY = "certified_copy"  # bản sao có chứng thực
    ELECTRONIC = "electronic"  # bản điện tử
    PRESENTED = "presented"  # xuất trình (shown, not kept)
    UNSPECIFIED = "unspecified"  # the source does not say


class RequiredDocument(BaseModel):
    """A document the applicant gives (thành phần hồ sơ)."""

    name: str = Field(min_length=1, max_length=500)
    kind: DocumentKind = DocumentKind.UNSPECIFIED
    count: int = Field(default=1, ge=1, le=20)
    required: bool = True
    template_url: str | None = Field(default=None, max_length=500)
    # DOCX and XLSX accepted as well as PDF, JPEG and PNG (a list of members as a
    # spreadsheet, say): only where the procedure says so.
    office: bool = False


class FeeChannel(StrEnum):
    """Which submissions a fee applies to: several fees are lower online."""

    ANY = "any"
    ONLINE = "online"
    COUNTER = "counter"  # at the desk or by post


class FeeItem(BaseModel):
    """A fee or charge (phí, lệ phí) and when it applies."""

    name: str = Field(min_length=1, max_length=300)
    # In đồng; null where the law leaves the rate to the province's People's Council (HĐND)
    # or to the case (e.g. a vehicle's value) and the catalogue does not hold it: the
    # condition then says what decides it, and intake asks the officer for the amount.
    amount_vnd: int | None = Field(ge=0, le=10_000_000_000)
    unit: str | None = Field(default=None, max_length=50)  # per what: bản, trang, lần
    channel: FeeChannel = FeeChannel.ANY
    collected: Literal["on_submission", "on_result"] = "on_submission"
    condition: str | None = Field(default=None, max_length=300)  # when it applies


class WorkflowStep(BaseModel):
    """A step of the processing, with the working time it may take."""

    name: str = Field(min_length=1, max_length=300)
    position: Position
    budget_hours: float = Field(gt=0, le=2000)


class SupplementPolicy(StrEnum):
    PAUSE = "pause"  # the clock resumes with the time left (NĐ 61/2018 Đ17, the default)
    RESTART = "restart"  # some sector laws count again from the complete dossier


class ProcedureContent(BaseModel):
    """Everything one version of a procedure says."""

    code: str = Field(pattern=r"^[A-Za-z0-9.\-]{1,40}$")
    name: str = Field(min_length=3, max_length=500)
    name_en: str | None = None
    field_code: str
    level: AgencyLevel
    level_before_2025_07: str | None = None
    competent_agency: str
    online_level: OnlineLevel
    processing_time: ProcessingTime | None
    processing_time_text: str
    fee_text: str
    required_documents: list[RequiredDocument]
    fees: list[FeeItem] = Field(default_factory=list)
    result_documents: list[str] = Field(default_factory=list)
    steps: list[WorkflowStep] = Field(default_factory=list)
    # The applicant's data, as a JSON Schema (draft 2020-12) the e-form is drawn from.
    eform_schema: dict[str, Any] | None = None
    supplement_policy: SupplementPolicy = SupplementPolicy.PAUSE
    legal_basis: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    notes: str | None = None
    confirmed: Confirmed


class FieldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str


class ProcedureSummary(BaseModel):
    code: str
    name: str
    field_code: str
    level: AgencyLevel
    online_level: OnlineLevel
    processing_time: ProcessingTime | None
    version: int


class ProcedureOut(ProcedureContent):
    version: int
    status: VersionStatus
    effective_date: date | None
    published_at: datetime | None
    # The agencies whose one-stop desks offer it (on the version in force only).
    offered_by: list[str] = Field(default_factory=list)


class OnlineService(BaseModel):
    """A procedure an agency offers online (dịch vụ công trực tuyến)."""

    code: str
    name: str
    field_code: str
    online_level: OnlineLevel  # full (toàn trình) or partial (một phần)
    processing_time: ProcessingTime | None
    processing_time_text: str
    fees: list[FeeItem]
    fee_text: str


class OnlineAgency(BaseModel):
    code: str
    name: str
    services: list[OnlineService]


class OnlineServices(BaseModel):
    """The online services list, by agency (NĐ 42/2022: toàn trình, một phần)."""

    agencies: list[OnlineAgency]
    full: int  # services offered fully online, counted once per agency
    partial: int


class ProcedurePage(BaseModel):
    items: list[ProcedureSummary]
    total: int
    page: int
    size: int


class Problem(BaseModel):
    """One reason a draft cannot be published, and where it is."""

    pointer: str
    message: str


class VersionSummary(BaseModel):
    """A version of a procedure as the admins' history lists it."""

    model_config = ConfigDict(from_attributes=True)

    version: int
    status: VersionStatus
    name: str
    effective_date: date | None
    published_at: datetime | None


class ValidationReport(BaseModel):
    valid: bool
    errors: list[Problem]


class PublishRequest(BaseModel):
    effective_date: date


class ImportedAgency(AgencyOut):
    """An agency of an imported catalogue: what the table can hold, nothing empty."""

    code: str = Field(pattern=AGENCY_CODE)
    name: str = Field(min_length=1, max_length=300)
    parent_code: str | None = Field(default=None, pattern=AGENCY_CODE)
    address: str | None = Field(default=None, max_length=300)
    calendar_code: str = Field(min_length=1, max_length=40)


class AgencyEdit(BaseModel):
    """What an admin sets of an agency (its code is its national identity: never edited)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=300)
    level: AgencyLevel
    parent_code: str | None = Field(default=None, pattern=AGENCY_CODE, max_length=30)
    address: str | None = Field(default=None, max_length=300)
    calendar_code: str = Field(
        default="national", pattern=r"^[A-Za-z0-9._\-]{1,40}$", max_length=40
    )


class AgencyIn(AgencyEdit):
    code: str = Field(pattern=AGENCY_CODE, max_length=30)


class OfferedIn(BaseModel):
    """The procedures an agency's one-stop desk offers: the whole list, replacing it."""

    model_config = ConfigDict(extra="forbid")

    procedures: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9.\-]{1,40}$", max_length=40)]] = (
        Field(max_length=5000)
    )


class ImportedField(FieldOut):
    code: str = Field(pattern=r"^[A-Za-z0-9.\-_]{1,40}$")
    name: str = Field(min_length=1, max_length=200)


class ExportedVersion(BaseModel):
    version: int = Field(ge=1, le=MAX_VERSION)
    status: VersionStatus
    effective_date: date | None = None
    published_at: datetime | None = None
    content: ProcedureContent


class ExportedProcedure(BaseModel):
    code: str = Field(pattern=PROCEDURE_CODE)
    current_version: int | None = Field(ge=1, le=MAX_VERSION)
    versions: list[ExportedVersion] = Field(min_length=1, max_length=1000)
    offered_at: list[Annotated[str, Field(pattern=AGENCY_CODE)]] = Field(default_factory=list)


class CatalogueDocument(BaseModel):
    """The whole catalogue as one JSON document (export, import, backups, other provinces)."""

    format: Literal["onestop-catalogue/1"] = "onestop-catalogue/1"
    agencies: list[ImportedAgency] = Field(default_factory=list)  # parents before children
    fields: list[ImportedField]
    procedures: list[ExportedProcedure]


class ImportReport(BaseModel):
    agencies: int
    fields: int
    procedures: int
    versions: int
    offers: int
