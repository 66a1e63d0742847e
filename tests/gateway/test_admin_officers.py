"""Officers made and managed by an admin: a one-time password that only sets the
officer's own, agencies and positions given and taken, deactivation that ends every
session at once, each change audited; and whom a dossier can then be assigned to."""

from __future__ import annotations

from typing import Any

import httpx

from shared.auth import Position
from tests.gateway.test_accounts import bearer, login
from tests.intake.flow import act, submit
from tests.platform import CENTRE, Platform

OTHER = "000.00.07.H49"  # another agency of the seeded catalogue
USERNAME = "nguyen.van.binh"
NEW: dict[str, Any] = {
    "username": USERNAME,
    "full_name": "Nguyễn Văn Bình",
    "memberships": [{"agency_code": CENTRE, "position": "specialist"}],
}
OWN_PASSWORD = "mat-khau-rieng-2026"


async def admin(api: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await login(api, "admin", "admin-demo"))


async def test_an_officer_sets_their_own_password_before_anything_else(
    platform: Platform,
) -> None:
    api = platform.client
    made = await api.post("/api/v1/admin/officers", json=NEW, headers=await admin(api))
    assert made.status_code == 201, made.text
    once = made.json()["one_time_password"]
    assert made.json()["officer"]["password_must_change"] is True
    refused = await login(api, USERNAME, once)
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/password-change-required"
    change = {"username": USERNAME, "current_password": once, "new_password": once}
    assert (await api.post("/api/v1/auth/password", json=change)).status_code == 422
    wrong = {**change, "current_password": "doan-bua", "new_password": OWN_PASSWORD}
    assert (await api.post("/api/v1/auth/password", json=wrong)).status_code == 401
    changed = await api.post("/api/v1/auth/password", json={**change, "new_password": OWN_PASSWORD})
    assert changed.status_code == 204, changed.text
    assert (await login(api, USERNAME, once)).status_code == 401  # used up
    logged = await login(api, USERNAME, OWN_PASSWORD)
    assert logged.status_code == 200
    me = (await api.get("/api/v1/auth/me", headers=bearer(logged))).json()
    assert me["agencies"] == [{"agency_code": CENTRE, "position": "specialist"}]
    queue = await api.get(f"/api/v1/queues/{CENTRE}", headers=bearer(logged))
    assert queue.status_code == 200


async def test_what_an_admin_gives_is_checked_and_nothing_is_half_made(
    platform: Platform,
) -> None:
    api = platform.client
    headers = await admin(api)
    cases = [
        ({**NEW, "username": "001099000001"}, "#/username"),  # a citizen's number
        ({**NEW, "memberships": [{"agency_code": "999.99.99.Z99", "position": "desk"}]},
         "#/memberships/0/agency_code"),
        ({**NEW, "memberships": [{"agency_code": CENTRE, "position": "desk"},
                                 {"agency_code": CENTRE, "position": "leader"}]},
         "#/memberships/1/agency_code"),
    ]  # fmt: skip
    for body, pointer in cases:
        answer = await api.post("/api/v1/admin/officers", json=body, headers=headers)
        assert answer.status_code == 422, answer.text
        assert pointer in [error["pointer"] for error in answer.json()["errors"]]
    assert (await api.post("/api/v1/admin/officers", json=NEW, headers=headers)).status_code == 201
    again = await api.post("/api/v1/admin/officers", json=NEW, headers=headers)
    assert again.status_code == 409
    listed = await api.get("/api/v1/admin/officers", params={"agency": CENTRE}, headers=headers)
    assert [o["username"] for o in listed.json()].count(USERNAME) == 1
    desk = bearer(await login(api, "canbo1", "canbo-demo"))
    assert (await api.get("/api/v1/admin/officers", headers=desk)).status_code == 403


async def test_memberships_and_deactivation_end_the_sessions_at_once_and_are_audited(
    platform: Platform,
) -> None:
    api = platform.client
    headers = await admin(api)
    made = (await api.post("/api/v1/admin/officers", json=NEW, headers=headers)).json()
    officer_id = made["officer"]["id"]
    change = {"username": USERNAME, "current_password": made["one_time_password"],
              "new_password": OWN_PASSWORD}  # fmt: skip
    assert (await api.post("/api/v1/auth/password", json=change)).status_code == 204
    session = bearer(await login(api, USERNAME, OWN_PASSWORD))

    # Assignable now: intake asks the accounts.
    citizen = platform.citizen("citizen-1")
    code = (await submit(platform, citizen)).json()["code"]
    desk = platform.officer("desk-1", Position.DESK)
    assert (await act(platform, code, "receive", desk)).status_code == 200
    assigned = await act(platform, code, "assign", desk, assignee=officer_id)
    assert assigned.status_code == 200, assigned.text

    # Moved to another agency: the old token (which names the centre) is refused.
    moved = await api.put(
        f"/api/v1/admin/officers/{officer_id}/memberships", headers=headers,
        json={"memberships": [{"agency_code": OTHER, "position": "leader"}]},
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert (await api.get("/api/v1/auth/me", headers=session)).status_code == 401
    session = bearer(await login(api, USERNAME, OWN_PASSWORD))
    me = (await api.get("/api/v1/auth/me", headers=session)).json()
    assert me["agencies"] == [{"agency_code": OTHER, "position": "leader"}]
    other = await submit(platform, citizen)
    assert (await act(platform, other.json()["code"], "receive", desk)).status_code == 200
    no_longer = await act(platform, other.json()["code"], "assign", desk, assignee=officer_id)
    assert no_longer.status_code == 422

    # Deactivated: the session ends at once, no login, not offered for assignment.
    off = await api.post(f"/api/v1/admin/officers/{officer_id}/deactivate", headers=headers)
    assert off.json()["is_active"] is False
    assert (await api.get("/api/v1/auth/me", headers=session)).status_code == 401
    assert (await login(api, USERNAME, OWN_PASSWORD)).status_code == 401
    ids = [o["id"] for o in (await api.get(f"/api/v1/agencies/{OTHER}/officers",
                                           headers=headers)).json()]  # fmt: skip
    assert officer_id not in ids

    events = await api.get(f"/api/v1/admin/officers/{officer_id}/events", headers=headers)
    kinds = [event["kind"] for event in events.json()]
    assert kinds == [
        "officer.created", "account.password_changed", "officer.memberships_changed",
        "officer.deactivated",
    ]  # fmt: skip
    me_admin = (await api.get("/api/v1/auth/me", headers=headers)).json()
    assert events.json()[2]["detail"]["by"] == me_admin["id"]
    assert events.json()[2]["detail"]["before"] == NEW["memberships"]

    # Back, with a new one-time password: the old password no longer works.
    await api.post(f"/api/v1/admin/officers/{officer_id}/activate", headers=headers)
    reset = await api.post(f"/api/v1/admin/officers/{officer_id}/reset-password", headers=headers)
    assert reset.status_code == 200
    assert (await login(api, USERNAME, OWN_PASSWORD)).status_code == 401
    fresh = await login(api, USERNAME, reset.json()["one_time_password"])
    assert fresh.status_code == 403
