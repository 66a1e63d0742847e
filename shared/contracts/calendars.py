"""An agency's working calendar as tracking serves it (``GET /api/v1/calendars/{agency}``),
and the engine spec built from it: intake computes appointments with the same engine and
the same data tracking uses for the clock ledger."""

from __future__ import annotations

from datetime import date, time

from pydantic import BaseModel, ConfigDict

from shared.worktime import CalendarSpec, DayOffKind, Session, assemble


class SessionView(BaseModel):
    start: time
    end: time


class DayView(BaseModel):
    model_config = ConfigDict(extra="ignore")

    day: date
    working: bool
    name: str
    kind: DayOffKind | None
    source: str
    status: str  # "active", or "pending" until an admin enables the day


class CalendarView(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: str
    agency_code: str | None
    timezone: str
    week: dict[int, list[SessionView]]
    first_day: date
    last_day: date
    version: int
    days: list[DayView]

    def spec(self) -> CalendarSpec:
        week = {
            weekday: tuple(Session(s.start, s.end) for s in sessions)
            for weekday, sessions in self.week.items()
        }
        return assemble(
            code=self.code,
            first=self.first_day,
            last=self.last_day,
            timezone=self.timezone,
            week=week,
            days=[day for day in self.days if day.status == "active"],
        )
