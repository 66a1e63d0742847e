"""The working-time engine: deadlines in working days and hours over an agency's calendar.

Pure (no I/O): calendars come in as data (``CalendarSpec``), answers go out as values.
"""

from shared.worktime.calendar import (
    STANDARD_SESSIONS,
    STANDARD_WEEK,
    VIETNAM,
    CalendarError,
    CalendarSpec,
    DayOff,
    DayOffKind,
    MakeUpDay,
    Session,
    assemble,
)
from shared.worktime.engine import (
    MINUTES_PER_WORKING_DAY,
    Explanation,
    NaiveInstant,
    OutsideCalendar,
    SkippedDay,
    WorkingTime,
)

__all__ = [
    "MINUTES_PER_WORKING_DAY",
    "STANDARD_SESSIONS",
    "STANDARD_WEEK",
    "VIETNAM",
    "CalendarError",
    "CalendarSpec",
    "DayOff",
    "DayOffKind",
    "Explanation",
    "MakeUpDay",
    "NaiveInstant",
    "OutsideCalendar",
    "Session",
    "SkippedDay",
    "WorkingTime",
    "assemble",
]
