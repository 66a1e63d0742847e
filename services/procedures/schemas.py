from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.procedures.models import AgencyLevel, OnlineLevel, VersionStatus


class AgencyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: AgencyLevel
    parent_code: str | None
    address: str | None


class AgencySeed(BaseModel):
    """An agency as the seed file describes it."""

    code: str
    name: str
    level: AgencyLevel
    parent_code: str | None = None
    address: str | None = None
    code_confirmed: bool = False


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
    required_documents: list[str]
    legal_basis: list[str]
    sources: list[str]
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


class ProcedurePage(BaseModel):
    items: list[ProcedureSummary]
    total: int
    page: int
    size: int
