"""The national calendar: the decisions win over the package, and say why."""

from __future__ import annotations

from datetime import date

from services.tracking import national
from services.tracking.models import DayStatus
from shared.worktime import DayOffKind

ENTRIES, DISAGREEMENTS = national.build()
BY_DAY = {entry.day: entry for entry in ENTRIES}


def test_a_swapped_day_the_package_does_not_know_is_off_by_decision() -> None:
    entry = BY_DAY[date(2026, 1, 2)]
    assert (entry.working, entry.kind) == (False, DayOffKind.SWAPPED)
    assert BY_DAY[date(2026, 1, 10)].working  # the Saturday worked in exchange
    assert "12729/VPCP-KGVX" in BY_DAY[date(2026, 1, 10)].source


def test_a_holiday_only_the_package_lists_stays_pending() -> None:
    entry = BY_DAY[date(2026, 11, 24)]
    assert entry.status is DayStatus.PENDING
    [disagreement] = [d for d in DISAGREEMENTS if d.day == date(2026, 11, 24)]
    assert disagreement.package == "Ngày Văn hóa Việt Nam"
    assert disagreement.official is None


def test_years_without_a_decision_follow_the_package() -> None:
    tet_2027 = [e for e in ENTRIES if e.day.year == 2027 and "Tết Nguyên Đán" in e.name]
    assert {e.day for e in tet_2027} >= {date(2027, 2, 5), date(2027, 2, 10)}
    assert all(e.source == national.PACKAGE for e in tet_2027)
    assert BY_DAY[date(2027, 11, 24)].status is DayStatus.PENDING  # still unconfirmed


def test_weekends_inside_an_official_break_are_kept_with_their_reason() -> None:
    assert BY_DAY[date(2026, 2, 14)].kind is DayOffKind.WEEKEND


def test_every_official_day_is_in_the_calendar() -> None:
    official = national.load_official()
    for year in official["years"].values():
        for item in year["days_off"]:
            assert BY_DAY[item["date"]].working is False
        for item in year["make_up_working_days"]:
            assert BY_DAY[item["date"]].working is True
