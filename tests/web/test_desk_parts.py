"""The desk's small rules: how working time reads, how the queue's address keeps its
place, how an officer's amounts are read."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.datastructures import QueryParams

from services.web.pages.desk import Desk, QueueView, body_of, missing_values, number, working_time

DESK = Desk(id="u-1", username="canbo1", memberships={"A.1": "desk", "B.2": "specialist"})


@pytest.mark.parametrize(
    ("minutes", "read"),
    [
        (None, ""),
        (2400, "còn 5 ngày"),
        (2580, "còn 5 ngày 3 giờ"),
        (90, "còn 2 giờ"),
        (20, "còn dưới 1 giờ"),
        (-60, "quá 1 giờ"),
        (-540, "quá 1 ngày 1 giờ"),
    ],
)
def test_working_time_reads_in_days_of_eight_hours(minutes: float | None, read: str) -> None:
    assert working_time(minutes) == read


def test_the_queue_address_keeps_its_filters_and_a_new_filter_starts_at_the_top() -> None:
    view = QueueView.of(
        QueryParams("co-quan=B.2&tien-do=overdue&thu-tuc=TTHC-20&cua-toi=1&sau=abc"), DESK
    )
    assert view.api_params() == {
        "limit": 20, "timeliness": "overdue", "procedure": "TTHC-20", "cursor": "abc",
        "assignee": "me",
    }  # fmt: skip
    assert parse_qs(urlsplit(view.link()).query)["sau"] == ["abc"]  # a refresh keeps the page
    moved = parse_qs(urlsplit(view.link(tien_do="paused")).query)
    assert moved == {"co-quan": ["B.2"], "tien-do": ["paused"], "thu-tuc": ["TTHC-20"],
                     "cua-toi": ["1"]}  # fmt: skip
    # What the address cannot mean is dropped: another agency, an unknown filter.
    other = QueueView.of(QueryParams("co-quan=Z.9&trang-thai=bogus&tien-do=bogus"), DESK)
    assert (other.agency, other.status, other.timeliness) == ("A.1", "", "")


def test_amounts_and_dates_as_an_officer_types_them() -> None:
    assert number("135.000", int) == 135000
    assert number("1,5", float) == 1.5
    assert number("-3", int) is None
    assert number("abc", float) is None
    errors = missing_values("forward", {"to_agency_code": "B.2", "budget_hours": "0"})
    assert errors == {"budget_hours": "Phải là một số dương."}
    assert missing_values("apologize", {"reason": "Chờ xác minh", "new_due_at": "16/03/2026"}) == {
        "new_due_at": "Ngày giờ không hợp lệ."
    }
    body = body_of(
        "request-supplement",
        {"missing": "Ảnh 3x4\n\n  Giấy khám sức khỏe  ", "confirm_counted_late": "1", "note": ""},
    )
    assert body == {"missing": ["Ảnh 3x4", "Giấy khám sức khỏe"], "confirm_counted_late": True}
    assert body_of("apologize", {"new_due_at": "2026-03-16T09:00", "reason": "Chờ"}) == {
        "new_due_at": "2026-03-16T09:00:00+07:00", "reason": "Chờ",
    }  # fmt: skip
