"""Citizens' accounts and logins: the personal identification number, self-registration,
refresh tokens (used once; a copied one ends the login), and logout (the access token
is refused at once, the refresh tokens are revoked). Embedded and distributed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest

from services.gateway import identity
from tests.platform import Platform

TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("number", "wrong"),
    [
        ("001099000001", None),  # Hà Nội, a man born in 1999
        ("079303123456", None),  # Hồ Chí Minh, a woman born in 2003
        ("022226000001", None),  # Quảng Ninh, born in 2026
        ("00109900000", "12 chữ số"),
        ("00109900000a", "12 chữ số"),
        ("003099000001", "mã tỉnh"),  # 003 is no province's code
        ("097099000001", "mã tỉnh"),
        ("001699000001", "thế kỷ"),  # 6: the 2200s are not yet
        ("001227000001", "tương lai"),  # born in 2027
    ],
)
def test_the_personal_identification_number_is_checked(number: str, wrong: str | None) -> None:
    found = identity.problems(number, today=TODAY)
    if wrong is None:
        assert found == []
    else:
        assert any(wrong in problem for problem in found), found


def test_the_appendix_has_the_63_provinces() -> None:
    assert len(identity.PROVINCE_CODES) == 63
    assert {"001", "022", "079", "096"} <= identity.PROVINCE_CODES


async def login(api: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await api.post("/api/v1/auth/token", data={"username": username, "password": password})


def bearer(answer: httpx.Response) -> dict[str, str]:
    return {"authorization": f"Bearer {answer.json()['access_token']}"}


async def test_a_citizen_registers_then_logs_in(platform: Platform) -> None:
    api = platform.client
    body = {"id_number": "022190001234", "full_name": "Nguyễn Thị Hoa", "password": "mat-khau-1"}
    made = await api.post("/api/v1/auth/register", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["username"] == "022190001234"
    assert made.json()["identity_verified"] is False
    logged = await login(api, "022190001234", "mat-khau-1")
    assert logged.status_code == 200
    me = (await api.get("/api/v1/auth/me", headers=bearer(logged))).json()
    assert me["role"] == "citizen"
    again = await api.post("/api/v1/auth/register", json=body)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id_number": "003190001234", "full_name": "A", "password": "mat-khau-1"}, "id_number"),
        ({"id_number": "022190001234", "full_name": "A", "password": "022190001234"}, "password"),
    ],
)
async def test_a_registration_with_a_wrong_number_or_password_makes_nothing(
    platform: Platform, body: dict[str, str], field: str
) -> None:
    refused = await platform.client.post("/api/v1/auth/register", json=body)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["pointer"] == f"#/{field}"
    assert (await login(platform.client, body["id_number"], body["password"])).status_code == 401


async def test_a_refresh_token_is_used_once_and_a_copied_one_ends_the_login(
    platform: Platform,
) -> None:
    api = platform.client
    first = await login(api, "001099000001", "congdan-demo")
    refreshed = await api.post(
        "/api/v1/auth/refresh", json={"refresh_token": first.json()["refresh_token"]}
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != first.json()["refresh_token"]
    assert (await api.get("/api/v1/auth/me", headers=bearer(refreshed))).status_code == 200
    # The first one again: someone kept a copy. Both it and its successor stop working.
    stolen = await api.post(
        "/api/v1/auth/refresh", json={"refresh_token": first.json()["refresh_token"]}
    )
    assert stolen.status_code == 401
    successor = await api.post(
        "/api/v1/auth/refresh", json={"refresh_token": refreshed.json()["refresh_token"]}
    )
    assert successor.status_code == 401
    unknown = await api.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 43})
    assert unknown.status_code == 401


async def test_logout_refuses_the_token_at_once_everywhere_and_ends_the_login(
    platform: Platform,
) -> None:
    api = platform.client
    mine = await login(api, "001099000001", "congdan-demo")
    other_device = await login(api, "001099000001", "congdan-demo")
    headers = bearer(mine)
    assert (await api.get("/api/v1/dossiers", headers=headers)).status_code == 200
    assert (await api.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    for path in ("/api/v1/auth/me", "/api/v1/dossiers", "/api/v1/documents"):
        refused = await api.get(path, headers=headers)
        assert refused.status_code == 401, path
        assert refused.headers["content-type"] == "application/problem+json"
    ended = await api.post(
        "/api/v1/auth/refresh", json={"refresh_token": mine.json()["refresh_token"]}
    )
    assert ended.status_code == 401
    # The same citizen's other login goes on.
    assert (await api.get("/api/v1/auth/me", headers=bearer(other_device))).status_code == 200
    assert (
        await api.post(
            "/api/v1/auth/refresh", json={"refresh_token": other_device.json()["refresh_token"]}
        )
    ).status_code == 200


async def test_an_oversized_body_to_the_gateway_itself_is_refused(platform: Platform) -> None:
    """The gateway's own routes take small bodies: a registration of 100 KB is refused
    with 413 whether its size is declared or only arrives, and nothing is created."""
    padding = "x" * (100 * 1024)
    body = {"id_number": "079203000124", "full_name": padding, "password": "mật-khẩu-dài"}
    declared = await platform.client.post("/api/v1/auth/register", json=body)
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        encoded = json.dumps(body).encode()
        for start in range(0, len(encoded), 8192):
            yield encoded[start : start + 8192]

    streamed = await platform.client.post(
        "/api/v1/auth/register", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    nobody = await login(platform.client, "079203000124", "mật-khẩu-dài")
    assert nobody.status_code == 401
    # A body within the cap still goes through.
    body["full_name"] = "Lê Thị Dung"
    assert (await platform.client.post("/api/v1/auth/register", json=body)).status_code == 201
