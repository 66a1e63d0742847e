"""An agency's officers, from the accounts: whom its officers can give a dossier to."""

from __future__ import annotations

from tests.gateway.test_accounts import bearer, login
from tests.platform import CENTRE, Platform


async def test_an_agencys_officers_by_name_and_position_for_its_own_officers(
    platform: Platform,
) -> None:
    api = platform.client
    desk = bearer(await login(api, "canbo1", "canbo-demo"))
    path = f"/api/v1/agencies/{CENTRE}/officers"
    answer = await api.get(path, headers=desk)
    assert answer.status_code == 200, answer.text
    listed = [(o["full_name"], o["username"], o["position_label"]) for o in answer.json()]
    assert listed == [
        ("Hoàng Văn Em", "lanhdao1", "Lãnh đạo"),
        ("Nguyễn Văn An", "canbo1", "Cán bộ một cửa"),
        ("Phạm Thị Dung", "chuyenvien1", "Chuyên viên xử lý"),
    ]
    me = (await api.get("/api/v1/auth/me", headers=desk)).json()
    assert next(o["id"] for o in answer.json() if o["username"] == "canbo1") == me["id"]
    admin = bearer(await login(api, "admin", "admin-demo"))
    assert len((await api.get(path, headers=admin)).json()) == 3
    # Another agency's officers are not this officer's business; a citizen's even less.
    other = await api.get("/api/v1/agencies/000.00.01.H49/officers", headers=desk)
    assert other.status_code == 404
    citizen = bearer(await login(api, "001099000001", "congdan-demo"))
    assert (await api.get(path, headers=citizen)).status_code == 403
    assert (await api.get(path)).status_code == 401
    # The rest of /api/v1/agencies is still the catalogue's.
    agency = await api.get(f"/api/v1/agencies/{CENTRE}")
    assert agency.status_code == 200
    assert agency.json()["code"] == CENTRE
