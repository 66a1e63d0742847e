"""The national calendar: the `holidays` package (VN) and the official decisions.

The `holidays` package knows the holidays the Labour Code fixes (Tết, 30/4, 2/9…), in
any year, and some observed days. It does not know each year's civil-service decisions:
the Tết window, the swapped days and the Saturdays worked in exchange. Those are in
``seed_data/vn-calendar.yaml`` with their sources. For a year that file covers, the
decisions are the calendar and the package is only compared with them: where the two
disagree the official decision wins, and the disagreement is kept to show why. For a
later year the package is all there is until an admin enters the year's decision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import holidays
import yaml

from services.tracking.models import DayStatus
from shared.worktime import DayOffKind

OFFICIAL_FILE = Path(__file__).parent / "seed_data" / "vn-calendar.yaml"
FIRST_YEAR = 2024
LAST_YEAR = 2030  # the package's lunar dates reach further; this bounds what is unrolled
PENDING_OUTCOME = "chờ quyết định: chưa áp dụng"
PACKAGE = f"holidays {version('holidays')} (VN)"


@dataclass(frozen=True)
class DayEntry:
    """A day of the national calendar: off (with its kind) or worked (a make-up day)."""

    day: date
    working: bool
    name: str
    kind: DayOffKind | None  # None for a worked day
    source: str
    status: DayStatus = DayStatus.ACTIVE


@dataclass(frozen=True)
class Disagreement:
    day: date
    package: str | None  # what the package says, None if it lists nothing
    official: str | None  # what the decision says, None if it lists nothing
    outcome: str


def load_official(path: Path = OFFICIAL_FILE) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def _sources(year: int, year_data: dict[str, Any]) -> str:
    """One line for an officer: the year's decisions named in the sources, and where
    they were read (the full addresses stay in seed_data/vn-calendar.yaml)."""
    cited = [str(item) for items in year_data.get("sources", {}).values() for item in items]
    decisions = dict.fromkeys(
        match for item in cited for match in re.findall(r"\((Văn bản [^)]*)\)", item)
    )
    hosts = dict.fromkeys(
        (urlsplit(item.split()[0]).hostname or "").removeprefix("www.").rstrip(".")
        for item in cited
    )
    named = f" ({'; '.join(decisions)})" if decisions else ""
    return f"Lịch nghỉ lễ, Tết năm {year} của cán bộ, công chức{named}; nguồn: {', '.join(hosts)}"


def _official_days(official: dict[str, Any]) -> dict[date, DayEntry]:
    entries: dict[date, DayEntry] = {}
    for year, year_data in official["years"].items():
        source = _sources(int(year), year_data)
        for item in year_data.get("days_off", []):
            entries[item["date"]] = DayEntry(
                day=item["date"],
                working=False,
                name=item["name"],
                kind=DayOffKind(item["kind"]),
                source=f"{item['note']}. {source}" if item.get("note") else source,
            )
        for item in year_data.get("make_up_working_days", []):
            entries[item["date"]] = DayEntry(
                day=item["date"], working=True, name="Ngày làm bù", kind=None, source=item["note"]
            )
    return entries


def _package_kind(name: str) -> DayOffKind:
    if "(nghỉ bù)" in name:
        return DayOffKind.COMPENSATORY
    if name.startswith("Ngày nghỉ (thay cho"):
        return DayOffKind.SWAPPED
    return DayOffKind.HOLIDAY


# Holidays the package lists that no law had put in force when the official file was
# made (its ``pending`` note: Ngày Văn hóa Việt Nam needs the Labour Code amended): in
# years without a decision they are pending too, never applied on the package's word.
UNCONFIRMED_PACKAGE_HOLIDAYS = frozenset({"Ngày Văn hóa Việt Nam"})


def build(
    official: dict[str, Any] | None = None,
    *,
    first_year: int = FIRST_YEAR,
    last_year: int = LAST_YEAR,
) -> tuple[list[DayEntry], list[Disagreement]]:
    """Every national day from ``first_year`` to ``last_year``, and where sources differ."""
    official = official if official is not None else load_official()
    decided_years = {int(year) for year in official["years"]}
    decided = _official_days(official)
    pending = {item["date"]: item for item in official.get("pending", [])}
    package = holidays.country_holidays("VN", years=range(first_year, last_year + 1), language="vi")

    entries = [entry for entry in decided.values() if first_year <= entry.day.year <= last_year]
    disagreements: list[Disagreement] = []
    for day, name in sorted(package.items()):
        if day.year not in decided_years:
            status = DayStatus.PENDING if name in UNCONFIRMED_PACKAGE_HOLIDAYS else DayStatus.ACTIVE
            entries.append(DayEntry(day, False, name, _package_kind(name), PACKAGE, status))
            continue
        official_entry = decided.get(day)
        if official_entry is None or official_entry.working:
            outcome = PENDING_OUTCOME if day in pending else "theo quyết định: ngày làm việc"
            disagreements.append(
                Disagreement(day, name, official_entry.name if official_entry else None, outcome)
            )
    for day, entry in sorted(decided.items()):
        # A weekend inside an official break is off anyway: no disagreement to report.
        off_on_a_weekday = not entry.working and entry.kind is not DayOffKind.WEEKEND
        if day.year in decided_years and day not in package and off_on_a_weekday:
            disagreements.append(Disagreement(day, None, entry.name, "theo quyết định: ngày nghỉ"))
    for day, item in sorted(pending.items()):
        if first_year <= day.year <= last_year:
            entries.append(
                DayEntry(
                    day=day,
                    working=False,
                    name=item["name"],
                    kind=DayOffKind(item["kind"]),
                    source=item.get("note", ""),
                    status=DayStatus.PENDING,
                )
            )
    entries.sort(key=lambda entry: entry.day)
    disagreements.sort(key=lambda disagreement: disagreement.day)
    return entries, disagreements
