"""Statistics from the dossiers' clocks: timeliness, resolution times, the 766 index.

Every figure carries its formula and inputs. Rates are percentages rounded to two
decimals, N/A (None) when nothing is counted (Decision 766's display rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.tracking import repository
from services.tracking.schemas import (
    Figure,
    IndexReport,
    Indicator,
    MonthTimeliness,
    PublicTimeliness,
    PublicTimelinessRow,
    ResolutionTime,
    TimelinessReport,
    TimelinessRow,
)
from shared.auth import Principal, Role
from shared.contracts.dossiers import DISSATISFIED_AT_MOST
from shared.errors import Forbidden, Unprocessable
from shared.worktime import MINUTES_PER_WORKING_DAY, VIETNAM

ZONE = ZoneInfo(VIETNAM)
OPEN_CLASSES = ("on_track", "due_soon", "paused", "overdue", "no_deadline")


def rate(numerator: int, denominator: int, formula: str, **inputs: int) -> Figure:
    value = round(100 * numerator / denominator, 2) if denominator else None
    return Figure(
        value=value, unit="%", formula=formula, inputs={k: float(v) for k, v in inputs.items()}
    )


def period(start: date | None, end: date | None, *, today: date) -> tuple[date, date]:
    end = end or today
    start = start or date(end.year, 1, 1)
    if start > end:
        raise Unprocessable(
            "Kỳ thống kê không hợp lệ: ngày bắt đầu sau ngày kết thúc.",
            errors=[{"pointer": "#/query/from", "message": "Ngày bắt đầu sau ngày kết thúc."}],
        )
    return start, end


# The first and last days whose local midnights are instants Python can hold in UTC
# (0001-01-01 00:00 +07:00 is before year 1 there). A period asked from 0001-01-01 "since
# ever" covers every dossier all the same: none is that old.
EARLIEST = date(1, 1, 2)
LATEST = date(9999, 12, 30)


def instants(start: date, end: date) -> tuple[datetime, datetime]:
    """The period's local days as instants: [start 00:00, the day after end 00:00)."""
    return (
        datetime.combine(max(start, EARLIEST), time(0), tzinfo=ZONE),
        datetime.combine(min(end, LATEST) + timedelta(days=1), time(0), tzinfo=ZONE),
    )


def visible_agencies(principal: Principal, agency: str | None) -> Sequence[str] | None:
    """Admins see every agency; an officer only those they belong to."""
    if principal.role is Role.ADMIN:
        return [agency] if agency else None
    own = [membership.agency_code for membership in principal.agencies]
    if agency is not None:
        if agency not in own:
            raise Forbidden("Cán bộ chỉ xem thống kê của cơ quan mình.")
        return [agency]
    return own


def _row(key: str | None, counts: dict[str, Any]) -> TimelinessRow:
    c = {name: int(value or 0) for name, value in counts.items() if name != "key"}
    open_now = sum(c[name] for name in OPEN_CLASSES)
    in_time = c["early"] + c["on_time"]
    return TimelinessRow(
        key=key,
        **c,
        in_time_rate=rate(
            in_time,
            c["finished"],
            "(trước hạn + đúng hạn) / đã giải quyết xong trong kỳ",
            early=c["early"],
            on_time=c["on_time"],
            finished=c["finished"],
        ),
        late_rate=rate(
            c["late"],
            c["finished"],
            "quá hạn / đã giải quyết xong trong kỳ",
            late=c["late"],
            finished=c["finished"],
        ),
        overdue_rate=rate(
            c["overdue"],
            open_now,
            "đang quá hạn / đang giải quyết",
            overdue=c["overdue"],
            open=open_now,
        ),
    )


def _resolution(row: dict[str, Any]) -> ResolutionTime:
    minutes = float(row["average_minutes"])
    per_unit, unit = (
        (60, "working_hours")
        if row["unit"] in ("working_hours", "same_day")
        else (MINUTES_PER_WORKING_DAY, "working_days")
    )
    return ResolutionTime(
        procedure_code=row["procedure_code"],
        count=int(row["count"]),
        average=Figure(
            value=round(minutes / per_unit, 2),
            unit=unit,
            formula="tổng thời gian làm việc đã dùng (trừ thời gian chờ người dân) / số hồ sơ",
            inputs={"average_working_minutes": round(minutes, 2), "dossiers": row["count"]},
        ),
    )


async def timeliness(
    session: AsyncSession,
    *,
    principal: Principal,
    agency: str | None,
    procedure: str | None,
    field: str | None,
    start: date | None,
    end: date | None,
    group_by: str | None,
    now: datetime,
) -> TimelinessReport:
    first, last = period(start, end, today=now.astimezone(ZONE).date())
    begin, finish = instants(first, last)
    scope: dict[str, Any] = {
        "agencies": visible_agencies(principal, agency),
        "procedure": procedure,
        "field": field,
    }
    total = await repository.timeliness_counts(
        session, start=begin, end=finish, now=now, group_by=None, **scope
    )
    rows = (
        await repository.timeliness_counts(
            session, start=begin, end=finish, now=now, group_by=group_by, **scope
        )
        if group_by
        else []
    )
    times = await repository.resolution_times(session, start=begin, end=finish, **scope)
    return TimelinessReport(
        period_from=first,
        period_to=last,
        now=now,
        group_by=group_by,
        rows=[_row(row["key"], row) for row in rows],
        total=_row(None, total[0]),
        resolution_times=[_resolution(row) for row in times],
    )


def _month(month: str, early: int, on_time: int, late: int) -> MonthTimeliness:
    finished = early + on_time + late
    return MonthTimeliness(
        month=month, finished=finished, early=early, on_time=on_time, late=late,
        in_time_rate=rate(early + on_time, finished,
                          "(trước hạn + đúng hạn) / đã giải quyết xong trong tháng",
                          early=early, on_time=on_time, finished=finished),
    )  # fmt: skip


def last_months(today: date, count: int) -> list[tuple[str, datetime, datetime]]:
    """The ``count`` calendar months up to this one, oldest first: their names and
    their first and next-month-first local midnights."""
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        first = date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        start = datetime.combine(first, time(0), tzinfo=ZONE)
        end = datetime.combine(following, time(0), tzinfo=ZONE)
        months.append((f"{year:04d}-{month:02d}", start, end))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


async def public_timeliness(
    session: AsyncSession, *, group_by: str, months: int, now: datetime
) -> PublicTimeliness:
    """For the public statistics page: every agency's or field's on-time rate, month by
    month, over the last ``months`` months."""
    window = last_months(now.astimezone(ZONE).date(), months)
    rows = await repository.monthly_timeliness(
        session, months=[(start, end) for _, start, end in window], group_by=group_by
    )
    names = [name for name, _, _ in window]
    report = []
    for row in rows:
        per_month = [
            _month(name, row[f"early_{i}"], row[f"on_time_{i}"], row[f"late_{i}"])
            for i, name in enumerate(names)
        ]
        total = _month(
            f"{names[0]}/{names[-1]}",
            sum(m.early for m in per_month),
            sum(m.on_time for m in per_month),
            sum(m.late for m in per_month),
        )
        report.append(PublicTimelinessRow(key=str(row["key"]), months=per_month, total=total))
    return PublicTimeliness(group_by=group_by, months=names, rows=report)


def _points(figure: Figure, target: float, max_points: float) -> float | None:
    # Decision 766's rule: score = min(max, max × rate / target).
    if figure.value is None:
        return None
    return round(min(max_points, max_points * figure.value / target), 2)


async def index(
    session: AsyncSession,
    *,
    principal: Principal,
    agency: str | None,
    start: date | None,
    end: date | None,
    now: datetime,
) -> IndexReport:
    first, last = period(start, end, today=now.astimezone(ZONE).date())
    begin, finish = instants(first, last)
    agencies = visible_agencies(principal, agency)
    counts = await repository.index_counts(session, start=begin, end=finish, agencies=agencies)
    times = await repository.resolution_times(
        session, start=begin, end=finish, agencies=agencies, procedure=None, field=None
    )
    indicators = [
        *_processing(counts, times),
        *_online(counts),
        *_digital(counts),
        _satisfaction(counts),
    ]
    return IndexReport(agency=agency, period_from=first, period_to=last, indicators=indicators)


def _processing(c: dict[str, int], times: list[dict[str, Any]]) -> list[Indicator]:
    """Group 1 and 2 of Decision 766: synchronisation, timeliness, resolution time."""
    in_time = rate(
        c["finished_in_time"],
        c["finished_timed"],
        "(trước hạn + đúng hạn) / đã giải quyết xong; trừ thời gian người dân bổ sung; "
        "yêu cầu bổ sung quá một lần tính quá hạn",
        in_time=c["finished_in_time"],
        finished=c["finished_timed"],
    )
    return [
        Indicator(
            code="1.4",
            name="Tỷ lệ hồ sơ đồng bộ lên Cổng Dịch vụ công quốc gia",
            available=False,
            note="Chưa có dữ liệu đồng bộ với Cổng Dịch vụ công quốc gia.",
        ),
        Indicator(
            code="2.1",
            name="Tỷ lệ hồ sơ giải quyết trước hạn, đúng hạn",
            available=True,
            rate=in_time,
        ),
        Indicator(
            code="2.2",
            name="Thời gian giải quyết trung bình của mỗi thủ tục",
            available=True,
            details=[_resolution(row) for row in times],
        ),
    ]


def _online(c: dict[str, int]) -> list[Indicator]:
    """Group 3: online filing and payment."""
    online = rate(
        c["received_online"],
        c["received"],
        "nộp trực tuyến / tiếp nhận trong kỳ",
        online=c["received_online"],
        received=c["received"],
    )
    return [
        Indicator(
            code="3.3",
            name="Tỷ lệ hồ sơ nộp trực tuyến",
            available=True,
            rate=online,
            target=50,
        ),
        Indicator(
            code="3.6",
            name="Tỷ lệ hồ sơ thanh toán trực tuyến",
            available=True,
            rate=rate(
                c["paid_online"],
                c["paid"],
                "thanh toán trực tuyến / hồ sơ có nộp phí",
                paid_online=c["paid_online"],
                paid=c["paid"],
            ),
        ),
    ]


def _digital(c: dict[str, int]) -> list[Indicator]:
    """Group 4: electronic results, digitised dossiers, reused digitised data, VNeID
    accounts."""
    reuse = rate(
        c["received_reusing"],
        c["received"],
        "hồ sơ dùng lại giấy tờ đã số hóa / tiếp nhận trong kỳ",
        reusing=c["received_reusing"],
        received=c["received"],
    )
    return [
        Indicator(
            code="4.1",
            name="Tỷ lệ hồ sơ được cấp kết quả điện tử",
            available=True,
            rate=rate(
                c["resolved_electronic"],
                c["resolved"],
                "kết quả điện tử / đã có kết quả",
                electronic=c["resolved_electronic"],
                resolved=c["resolved"],
            ),
        ),
        Indicator(
            code="4.2",
            name="Tỷ lệ hồ sơ được số hóa (thành phần hồ sơ và kết quả)",
            available=True,
            rate=rate(
                c["resolved_digitised"],
                c["resolved"],
                "hồ sơ có mọi thành phần và kết quả ở dạng điện tử / đã có kết quả",
                digitised=c["resolved_digitised"],
                resolved=c["resolved"],
            ),
            target=80,
        ),
        Indicator(
            code="4.3",
            name="Tỷ lệ hồ sơ tái sử dụng dữ liệu đã số hóa",
            available=True,
            rate=reuse,
            target=80,
        ),
        Indicator(
            code="4.5",
            name="Tỷ lệ hồ sơ trực tuyến sử dụng tài khoản định danh điện tử (VNeID)",
            available=True,
            rate=rate(
                c["received_online_verified"],
                c["received_online"],
                "hồ sơ trực tuyến của tài khoản đã xác thực VNeID / nộp trực tuyến trong kỳ",
                verified=c["received_online_verified"],
                online=c["received_online"],
            ),
        ),
    ]


def _satisfaction(c: dict[str, int]) -> Indicator:
    """5.c: the finished dossiers neither late nor rated with dissatisfaction (a rating
    of DISSATISFIED_AT_MOST or less) over all finished; complaints are not recorded yet."""
    finished, counted = c["finished_timed"], c["finished_late_or_dissatisfied"]
    satisfaction = Figure(
        value=round(100 * (finished - counted) / finished, 2) if finished else None,
        unit="%",
        formula="(số hồ sơ đã giải quyết − số hồ sơ quá hạn hoặc bị đánh giá không hài lòng)"
        " / số hồ sơ đã giải quyết",
        inputs={
            "finished": finished,
            "late": c["finished_late"],
            "rated": c["finished_rated"],
            "dissatisfied": c["finished_dissatisfied"],
            "late_or_dissatisfied": counted,
            "complaints": 0,
        },
    )
    return Indicator(
        code="5.c",
        name="Mức độ hài lòng trong tiếp nhận, giải quyết thủ tục hành chính",
        available=True,
        rate=satisfaction,
        target=90,
        max_points=6,
        points=_points(satisfaction, 90, 6),
        note=f"Không hài lòng: đánh giá từ {DISSATISFIED_AT_MOST}/5 trở xuống. "
        "Chưa có dữ liệu phản ánh, kiến nghị.",
    )
