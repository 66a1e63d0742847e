"""The desk in the browser: an officer works a dossier from the queue to "returned" with
the keyboard (receive, assign to the specialist, who asks for a supplement; the citizen
answers; a second request warns before it counts the dossier late; the specialist
resolves with a result; the desk returns it). Every page on the way is checked."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import FilePayload, Page, expect

from shared.auth import Position
from tests.intake.flow import PDF, act, submit
from tests.web.browser import check_page
from tests.web.conftest import CITIZEN, PASSWORD, Site, log_in

OFFICER_PASSWORD = "canbo-demo"  # the demo officers (services/gateway/seed_data)
OTHER_AGENCY = "000.00.07.H49"  # another agency of the seeded catalogue


async def token(site: Site, username: str, password: str) -> dict[str, str]:
    answer = await site.platform.client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )
    assert answer.status_code == 200, answer.text
    return {"authorization": f"Bearer {answer.json()['access_token']}"}


async def log_out(page: Page) -> None:
    await page.get_by_role("button", name=re.compile("^Đăng xuất")).click()


async def open_from_queue(page: Page, code: str) -> None:
    """J until the dossier's row has the focus, then Enter: the keyboard alone."""
    row = page.locator(f"a.open[data-code='{code}']")
    for _ in range(25):
        await page.keyboard.press("j")
        if await row.evaluate("link => link === document.activeElement"):
            break
    await expect(row).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Hồ sơ {code}")


async def take(page: Page, label: str, *typed: str) -> None:
    """The action by its number key; ``typed`` into the form's fields in order (Tab
    between them), then Enter on "Tiếp tục", then Enter on the confirmation."""
    action = page.locator("ul.actions a", has_text=label)
    key = await action.get_attribute("data-key")
    assert key is not None, f"{label} has no key"
    await page.keyboard.press(key)
    await expect(page.get_by_role("heading", level=1)).to_contain_text(label)
    for index, text in enumerate(typed):
        if index:
            await page.keyboard.press("Tab")
        await page.keyboard.type(text)
    await page.get_by_role("button", name="Tiếp tục").focus()
    await page.keyboard.press("Enter")
    confirm = page.get_by_role("button", name=f"Xác nhận: {label}")
    await expect(confirm).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("Đã thực hiện xong.")).to_be_visible()


async def test_an_officer_works_a_dossier_from_the_queue_to_returned(
    site: Site, page: Page, shots: Path
) -> None:
    platform = site.platform
    citizen = await token(site, CITIZEN, PASSWORD)
    filed = await submit(platform, citizen)
    assert filed.status_code == 201, filed.text
    code = filed.json()["code"]

    # The desk: the queue after login, the dossier by the keyboard, received.
    await log_in(page, site, "canbo1", OFFICER_PASSWORD)
    await expect(page).to_have_url(re.compile(r"/can-bo$"))
    row = page.get_by_role("row").filter(has_text=code)
    await expect(row).to_contain_text("Trần Thị Bình")
    await expect(row).to_contain_text("Chờ tiếp nhận")
    await check_page(page, shots, "hang-doi")
    await open_from_queue(page, code)
    await check_page(page, shots, "ho-so")
    await take(page, "Tiếp nhận", "Đủ thành phần hồ sơ")
    slip = page.get_by_role("link", name=re.compile("^In giấy tiếp nhận"))
    receipt = await page.request.get(site.url + str(await slip.get_attribute("href")))
    assert receipt.headers["content-type"] == "application/pdf"

    # Assigned to the specialist, picked by name and position.
    # One letter picks her in the list (a select's type-ahead forgets what was typed
    # after a second's pause, which a loaded machine can take between keys).
    await take(page, "Giao xử lý", "P")
    await expect(page.locator("dl.facts").first).to_contain_text("Phạm Thị Dung")
    await check_page(page, shots, "da-giao")
    # The way back to the queue keeps the place: the dossier's row has the focus again.
    await page.keyboard.press("h")
    await expect(page.locator(f"a.open[data-code='{code}']")).to_be_focused()
    await log_out(page)

    # The specialist asks for one complete list of what is missing.
    await log_in(page, site, "chuyenvien1", OFFICER_PASSWORD)
    await open_from_queue(page, code)
    await take(page, "Yêu cầu bổ sung", "Giấy khám sức khỏe còn hiệu lực")
    answer = await platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)
    assert answer.json()["status"] == "supplement_requested"
    upload = await platform.client.post(
        "/api/v1/documents", headers=citizen,
        files={"file": ("giấy khám sức khỏe.pdf", PDF, "application/pdf")},
    )  # fmt: skip
    supplemented = await act(platform, code, "supplement", citizen,
                             documents=[{"requirement": 1, "id": upload.json()["id"]}])  # fmt: skip
    assert supplemented.status_code == 200, supplemented.text

    # A second request warns that it counts the dossier late, and waits to be confirmed.
    await page.reload()
    await page.keyboard.press(await key_of(page, "Yêu cầu bổ sung"))
    await expect(page.get_by_role("note")).to_contain_text("trễ hạn")
    await page.get_by_label(re.compile("^Giấy tờ cần bổ sung")).fill("Ảnh chân dung 3x4")
    await page.get_by_role("button", name="Tiếp tục").click()  # the box left unticked
    await expect(page.get_by_role("button", name="Tiếp tục")).to_be_visible()
    unchanged = (await platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
    assert (unchanged["status"], unchanged["supplement_requests"]) == ("processing", 1)
    await check_page(page, shots, "bo-sung-lan-hai")
    await page.get_by_role("link", name="Hủy").click()

    # Resolved with a result for the citizen.
    await page.keyboard.press(await key_of(page, "Giải quyết xong"))
    results: list[FilePayload] = [
        {"name": "giấy phép lái xe mới.pdf", "mimeType": "application/pdf", "buffer": PDF},
        {"name": "quyết định.pdf", "mimeType": "application/pdf", "buffer": PDF},
    ]
    await page.get_by_label(re.compile("^Văn bản kết quả")).set_input_files(results)
    await page.get_by_role("button", name="Tiếp tục").click()
    await expect(page.get_by_text("2 tệp đã tải lên")).to_be_visible()
    await check_page(page, shots, "xac-nhan")
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("Đã thực hiện xong.")).to_be_visible()
    await log_out(page)

    # The desk hands it over.
    await log_in(page, site, "canbo1", OFFICER_PASSWORD)
    await open_from_queue(page, code)
    await take(page, "Trả kết quả")
    returned = (await platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
    assert returned["status"] == "returned"
    assert returned["timeliness"] in ("early", "on_time")
    assert returned["supplement_requests"] == 1
    assert len(returned["result_documents"]) == 2  # both files the specialist gave
    await expect(page.get_by_text("Không có thao tác nào")).to_be_visible()
    timeline = page.locator("section", has=page.get_by_role("heading", name="Quá trình giải quyết"))
    await expect(timeline.get_by_role("listitem")).to_have_count(7)
    await check_page(page, shots, "da-tra")


async def key_of(page: Page, label: str) -> str:
    key = await page.locator("ul.actions a", has_text=label).get_attribute("data-key")
    assert key is not None
    return key


async def test_an_officer_of_another_agency_sees_none_of_it(site: Site, page: Page) -> None:
    citizen = await token(site, CITIZEN, PASSWORD)
    filed = await submit(site.platform, citizen)
    code = filed.json()["code"]
    # An officer of another agency, made as a production install makes them.
    api = site.platform.client
    admin = await token(site, "admin", "admin-demo")
    made = await api.post("/api/v1/admin/officers", headers=admin, json={
        "username": "can.bo.khac", "full_name": "Lê Thị Khác",
        "memberships": [{"agency_code": OTHER_AGENCY, "position": "desk"}],
    })  # fmt: skip
    assert made.status_code == 201, made.text
    changed = await api.post("/api/v1/auth/password", json={
        "username": "can.bo.khac", "current_password": made.json()["one_time_password"],
        "new_password": "mat-khau-khac-2026",
    })  # fmt: skip
    assert changed.status_code == 204
    await log_in(page, site, "can.bo.khac", "mat-khau-khac-2026")
    await expect(page).to_have_url(re.compile(r"/can-bo$"))
    await expect(page.get_by_role("row").filter(has_text=code)).to_have_count(0)
    for address in (f"/can-bo/ho-so/{code}", f"/can-bo/ho-so/{code}/thao-tac/receive"):
        response = await page.goto(site.url + address)
        assert response is not None
        assert response.status == 404, address
    # A citizen is not an officer: the desk's pages refuse them.
    await log_out(page)
    await log_in(page, site)
    response = await page.goto(site.url + "/can-bo")
    assert response is not None
    assert response.status == 403


async def test_the_server_checks_each_action_form_and_a_forged_one_changes_nothing(
    site: Site, page: Page
) -> None:
    """What a browser's own checks would stop, sent anyway: the server says what is
    wrong at the field and changes nothing."""
    citizen = await token(site, CITIZEN, PASSWORD)
    code = (await submit(site.platform, citizen)).json()["code"]
    await log_in(page, site, "canbo1", OFFICER_PASSWORD)
    address = site.url + f"/can-bo/ho-so/{code}/thao-tac/refuse"
    await page.goto(address)
    csrf = await page.locator("input[name=csrf]").first.get_attribute("value")
    assert csrf is not None

    empty = await page.request.post(address, form={"csrf": csrf, "reason": " "})
    assert empty.status == 422
    assert "Trường này là bắt buộc." in await empty.text()
    other = (await submit(site.platform, citizen)).json()["code"]
    desk = site.platform.officer("desk-1", Position.DESK)
    assert (await act(site.platform, other, "receive", desk)).status_code == 200
    apology = site.url + f"/can-bo/ho-so/{other}/thao-tac/apologize"
    await page.goto(apology)
    await expect(page.get_by_role("note")).to_contain_text("trễ hạn")
    typed = {"reason": "Chờ xác minh", "new_due_at": "2027-01-29T09:00", "counts_late": "1"}
    late = await page.request.post(apology, form={"csrf": csrf, **typed})
    assert late.status == 422
    assert "Hãy xác nhận đã biết hồ sơ sẽ bị tính trễ hạn." in await late.text()
    moved = (await site.platform.client.get(f"/api/v1/dossiers/{other}", headers=citizen)).json()
    assert moved["counted_late"] is None
    forged = await page.request.post(
        address, form={"csrf": "x" * 40, "reason": "Không thuộc thẩm quyền", "xac_nhan": "1"}
    )
    assert forged.status == 403
    # Not open to this officer now: no form at all.
    closed = await page.request.get(site.url + f"/can-bo/ho-so/{code}/thao-tac/return")
    assert closed.status == 404
    after = (await site.platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
    assert after["status"] == "submitted"


async def test_a_confirmed_action_sent_twice_is_done_once(site: Site, page: Page) -> None:
    """The confirmed form carries an Idempotency-Key: the same form sent again (a double
    click past the page's guard, a resend after a lost answer) assigns once."""
    citizen = await token(site, CITIZEN, PASSWORD)
    code = (await submit(site.platform, citizen)).json()["code"]
    desk = site.platform.officer("desk-1", Position.DESK)
    assert (await act(site.platform, code, "receive", desk)).status_code == 200
    await log_in(page, site, "canbo1", OFFICER_PASSWORD)
    address = site.url + f"/can-bo/ho-so/{code}/thao-tac/assign"
    await page.goto(address)
    await page.get_by_role("button", name="Tiếp tục").click()
    await expect(page.get_by_role("heading", name="Xác nhận")).to_be_visible()
    confirmed = dict(
        await page.locator("form input[type=hidden]").evaluate_all(
            "inputs => inputs.map(i => [i.name, i.value])"
        )
    )
    assert len(confirmed["khoa"]) == 36  # a key of its own
    for _ in range(2):
        sent = await page.request.post(address, form=confirmed, max_redirects=0)
        assert sent.status == 303, await sent.text()
    history = await site.platform.client.get(f"/api/v1/dossiers/{code}/history", headers=desk)
    assert [step["action"] for step in history.json()["steps"]] == ["submit", "receive", "assign"]
