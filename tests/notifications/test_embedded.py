"""As ``make run`` has it (embedded: SQLite, no SMTP server, the SMS mock in-process):
a dossier taken through its lifecycle with the demo logins leaves the messages in the
citizen's inbox, the e-mails as files of what would have been sent, the SMS at the mock."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path
from typing import Any

from tests.intake.flow import LICENCE_FORM, documents_for
from tests.notifications.conftest import until
from tests.notifications.test_lifecycle import code_in
from tests.platform import Platform, embedded

CITIZEN, OFFICERS = ("001099000001", "congdan-demo"), "canbo-demo"
EMAIL = "congdan1@example.vn"


async def login(platform: Platform, username: str, password: str) -> dict[str, str]:
    answer = await platform.client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )
    assert answer.status_code == 200, answer.text
    return {"authorization": f"Bearer {answer.json()['access_token']}"}


def mails(folder: Path) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        found.append(parsed)
    return found


async def act(platform: Platform, code: str, action: str, headers: dict[str, str],
              **body: Any) -> dict[str, Any]:  # fmt: skip
    answer = await platform.client.post(f"/api/v1/dossiers/{code}/actions/{action}",
                                        json=body, headers=headers)  # fmt: skip
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def test_the_demo_lifecycle_leaves_the_messages_where_an_operator_looks(
    tmp_path: Path,
) -> None:
    async with embedded(tmp_path) as platform:
        citizen = await login(platform, *CITIZEN)
        desk = await login(platform, "canbo1", OFFICERS)
        leader = await login(platform, "lanhdao1", OFFICERS)
        specialist = await login(platform, "chuyenvien1", OFFICERS)
        folder = tmp_path / "mail"
        given = await platform.client.put("/api/v1/notifications/settings/contacts/email",
                                          json={"address": EMAIL}, headers=citizen)  # fmt: skip
        assert given.status_code == 200, given.text

        async def code() -> str | None:
            found = mails(folder) if folder.exists() else []
            return code_in(found[-1]["Subject"]) if found else None

        entered = await platform.client.post(
            "/api/v1/notifications/settings/contacts/email/verify",
            json={"code": await until(code)}, headers=citizen,
        )  # fmt: skip
        assert entered.status_code == 200, entered.text
        entered_subject = mails(folder)[0]["Subject"]

        documents = await documents_for(platform, "TTHC-20", citizen)
        filed = await platform.client.post("/api/v1/dossiers", headers=citizen, json={
            "procedure_code": "TTHC-20", "agency_code": "000.00.15.H49",
            "applicant": LICENCE_FORM, "documents": documents,
        })  # fmt: skip
        assert filed.status_code == 201, filed.text
        number = filed.json()["code"]
        await act(platform, number, "receive", desk)
        officers = await platform.client.get("/api/v1/agencies/000.00.15.H49/officers",
                                             headers=leader)  # fmt: skip
        holder = next(o["id"] for o in officers.json() if o["username"] == "chuyenvien1")
        await act(platform, number, "assign", leader, assignee=holder)
        await act(platform, number, "refuse", specialist, reason="Giấy phép đã hết hạn quá lâu.")

        async def told() -> list[dict[str, Any]] | None:
            answer = await platform.client.get("/api/v1/notifications", headers=citizen)
            items: list[dict[str, Any]] = answer.json()["items"]
            return items if len(items) == 2 else None

        items = await until(told)
        assert [i["title"] for i in items] == [
            f"Hồ sơ {number} không được tiếp nhận", f"Hồ sơ {number} đã được tiếp nhận",
        ]  # fmt: skip
        assert "Lý do: Giấy phép đã hết hạn quá lâu." in items[0]["body"]
        await until(lambda: _count(folder, 3))  # the code, received, refused
        subjects = sorted(m["Subject"] for m in mails(folder))  # sent in parallel lanes
        assert subjects == sorted([*(i["title"] for i in items), entered_subject])
        assert all(m["To"] == EMAIL for m in mails(folder))


async def _count(folder: Path, expected: int) -> bool:
    return len(mails(folder)) == expected
