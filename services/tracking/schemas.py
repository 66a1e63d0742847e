"""Request and response models of the tracking service."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from services.tracking.models import DayStatus
from shared.worktime import DayOffKind


class SessionModel(BaseModel):
    start: time
    end: time


class DayOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: date
    working: bool
    name: str
    kind: DayOffKind | None
    source: str
    status: DayStatus
    calendar_code: str  # where it is set: this calendar or one it inherits


class CalendarOut(BaseModel):
    code: str
    name: str
    agency_code: str | None  # set when the calendar was asked for by an agency
    parent_code: str | None
    timezone: str
    # Weekday (0 = Monday) -> its sessions, after inheritance.
    week: dict[int, list[SessionModel]]
    first_day: date
    last_day: date
    version: int
    days: list[DayOut]


class ChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    calendar_code: str
    version: int
    changed_by: str
    changed_at: datetime
    decision: str
    changes: list[dict[str, object]]


class DayEdit(BaseModel):
    """Set a day (off or worked), remove the calendar's own entry, or enable a pending day."""

    day: date
    action: Literal["set", "remove", "enable"] = "set"
    working: bool | None = None
    name: str | None = Field(default=None, min_length=1, max_length=300)
    kind: DayOffKind | None = None

    @model_validator(mode="after")
    def _complete(self) -> DayEdit:
        if self.action != "set":
            return self
        if self.working is None or self.name is None:
            raise ValueError("a day to set needs 'working' and 'name'")
        if self.working and self.kind is not None:
            raise ValueError("a working day has no day-off kind")
        if not self.working and self.kind is None:
            raise ValueError("a day off needs its kind")
        return self


class CalendarEdit(BaseModel):
    """One change to a calendar, on one decision: it becomes one version."""

    decision: str = Field(min_length=3, max_length=1000)  # e.g. "Văn bản 12729/VPCP-KGVX"
    days: list[DayEdit] = Field(default_factory=list, max_length=400)
    # Replace the week (weekday 0-6 -> sessions); an empty list makes the weekday off.
    week: dict[int, list[SessionModel]] | None = None

    @model_validator(mode="after")
    def _something(self) -> CalendarEdit:
        if not self.days and self.week is None:
            raise ValueError("a change needs days or a week")
        if len({edit.day for edit in self.days}) != len(self.days):
            raise ValueError("a day appears twice in one change")
        return self


class SkippedDayOut(BaseModel):
    day: date
    reason: str
    kind: str
    source: str | None


class MakeUpDayOut(BaseModel):
    day: date
    note: str
    source: str


class ExplanationOut(BaseModel):
    calendar_code: str
    calendar_version: int
    start: AwareDatetime
    working_minutes: float
    skipped_days: list[SkippedDayOut]
    make_up_days: list[MakeUpDayOut]


class DeadlineOut(BaseModel):
    due_at: AwareDatetime
    effective_start: AwareDatetime
    explanation: ExplanationOut


class RecomputationOut(BaseModel):
    """A dossier whose due date a calendar change moved."""

    model_config = ConfigDict(from_attributes=True)

    dossier_code: str
    agency_code: str
    old_due_at: AwareDatetime | None
    new_due_at: AwareDatetime | None
    reason: str
    recomputed_at: AwareDatetime


class ChangePreview(BaseModel):
    """What a calendar change would do, not done: the version it would make, its day
    changes, and every open dossier whose due date it would move (and to when)."""

    calendar_code: str
    version: int
    changes: list[dict[str, object]]
    moved: list[RecomputationOut]


class ChangeReport(BaseModel):
    calendar_code: str
    version: int
    moved: list[RecomputationOut]


class Figure(BaseModel):
    """A computed figure with how it was computed, so an officer can see why."""

    value: float | None  # None when the denominator is 0 (shown as N/A)
    unit: str
    formula: str
    inputs: dict[str, float]


class TimelinessRow(BaseModel):
    key: str | None  # the agency, procedure or field; None for the total
    received: int
    finished: int
    early: int
    on_time: int
    late: int
    on_track: int
    due_soon: int
    paused: int
    overdue: int
    no_deadline: int
    in_time_rate: Figure
    late_rate: Figure
    overdue_rate: Figure


class ResolutionTime(BaseModel):
    procedure_code: str
    count: int
    average: Figure


class TimelinessReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    period_from: date = Field(alias="from")
    period_to: date = Field(alias="to")
    now: AwareDatetime
    group_by: str | None
    rows: list[TimelinessRow]
    total: TimelinessRow
    resolution_times: list[ResolutionTime]


class MonthTimeliness(BaseModel):
    month: str  # YYYY-MM, in Vietnam's time
    finished: int
    early: int
    on_time: int
    late: int
    in_time_rate: Figure


class PublicTimelinessRow(BaseModel):
    key: str  # the agency's or the field's code
    months: list[MonthTimeliness]  # oldest first, every month of the period
    total: MonthTimeliness  # the period as a whole (``month``: its first and last)


class PublicTimeliness(BaseModel):
    """On-time rates per month of dossiers finished, by agency or field: counts only,
    nothing about any person or dossier."""

    group_by: str
    months: list[str]
    rows: list[PublicTimelinessRow]


class Indicator(BaseModel):
    """One indicator of Decision 766/QĐ-TTg, as far as tracking's data allows."""

    code: str
    name: str
    available: bool
    rate: Figure | None = None
    target: float | None = None  # the rate that earns full points
    max_points: float | None = None  # where the sources give it
    points: float | None = None
    details: list[ResolutionTime] = Field(default_factory=list)
    note: str | None = None


class IndexReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    agency: str | None
    period_from: date = Field(alias="from")
    period_to: date = Field(alias="to")
    indicators: list[Indicator]
