"""Login with the national digital identity (VNeID): the redirect to the provider's mock,
its signed assertion back, the account marked identity-verified; and every way an
assertion can be wrong (signature, algorithm, issuer, audience, expiry, nonce, replay,
another browser's state)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.gateway import repository, vneid
from services.gateway.config import UPSTREAM_NAMES, GatewaySettings
from services.national_portal.vneid import SigningKey, thumbprint
from shared.auth import Position, Principal, Role
from tests.conftest import distributed_platform
from tests.intake import flow
from tests.platform import Platform, embedded, eventually

NEW_CITIZEN = "079203000123"  # Hồ Chí Minh City, born 2003: no account yet


@pytest.fixture
async def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Platform]:
    # The callback is held to the login limit (10 at once): these tests log in more.
    monkeypatch.setenv("GATEWAY_RATE_LIMITS_ENABLED", "false")
    async with embedded(tmp_path) as running:
        yield running


async def start(platform: Platform, **params: str) -> tuple[str, dict[str, list[str]]]:
    """The login's start: where the browser is sent, and the query it carries."""
    started = await platform.client.get("/api/v1/auth/vneid", params=params)
    assert started.status_code == 302, started.text
    location = started.headers["location"]
    assert vneid.STATE_COOKIE in started.headers["set-cookie"]
    assert "httponly" in started.headers["set-cookie"].lower()
    return location, parse_qs(urlsplit(location).query)


async def confirm(platform: Platform, id_number: str, full_name: str, **params: str) -> str:
    """The citizen goes through the provider's page; the URL it sends them back to."""
    location, query = await start(platform, **params)
    page = await platform.client.get(location)
    assert page.status_code == 200
    assert "Số định danh cá nhân" in page.text
    assert "Xác nhận" in page.text
    fields = {name: values[0] for name, values in query.items()}
    confirmed = await platform.client.post(
        urlsplit(location).path,
        data={**fields, "id_number": id_number, "full_name": full_name},
    )
    assert confirmed.status_code == 303, confirmed.text
    back: str = confirmed.headers["location"]
    assert back.startswith("http://gw/api/v1/auth/vneid/callback?")
    return back


async def me(platform: Platform, access_token: str) -> dict[str, Any]:
    answer = await platform.client.get(
        "/api/v1/auth/me", headers={"authorization": f"Bearer {access_token}"}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_an_existing_citizen_logs_in_with_vneid_and_is_verified(platform: Platform) -> None:
    password_login = await platform.client.post(
        "/api/v1/auth/token", data={"username": "001099000001", "password": "congdan-demo"}
    )
    assert (await me(platform, password_login.json()["access_token"]))["identity_verified"] is False
    back = await confirm(platform, "001099000001", "Trần Thị Bình")
    login = await platform.client.get(back)
    assert login.status_code == 200, login.text
    body = login.json()
    assert body["username"] == "001099000001"
    assert body["identity_verified"] is True
    assert body["refresh_token"]
    assert (await me(platform, body["access_token"]))["identity_verified"] is True
    # Verified for good: a refresh says so too, and so does a second VNeID login, which
    # (the account being verified already) ends no other login.
    refreshed = await platform.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]}
    )
    assert (await me(platform, refreshed.json()["access_token"]))["identity_verified"] is True
    second = await platform.client.get(await confirm(platform, "001099000001", "Trần Thị Bình"))
    assert second.status_code == 200, second.text
    assert (await me(platform, refreshed.json()["access_token"]))["identity_verified"] is True


SQUATTER = {"id_number": NEW_CITIZEN, "full_name": "Kẻ chiếm", "password": "mat-khau-ke-gian"}


class TestAPreHijackedAccount:
    """Anyone can register any valid ID number with a password of their own. When the
    citizen it belongs to logs in with VNeID, the account becomes theirs alone."""

    async def test_the_squatters_password_and_logins_end_when_the_citizen_verifies(
        self, platform: Platform
    ) -> None:
        registered = await platform.client.post(
            "/api/v1/auth/register",
            json=SQUATTER,
        )
        assert registered.status_code == 201, registered.text
        squatter = await platform.client.post(
            "/api/v1/auth/token", data={"username": NEW_CITIZEN, "password": "mat-khau-ke-gian"}
        )
        assert squatter.status_code == 200, squatter.text
        squatter_access = squatter.json()["access_token"]
        squatter_refresh = squatter.json()["refresh_token"]
        # A second login of the squatter, refreshed once: its newest token counts too.
        other = await platform.client.post(
            "/api/v1/auth/token", data={"username": NEW_CITIZEN, "password": "mat-khau-ke-gian"}
        )
        rotated = await platform.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": other.json()["refresh_token"]}
        )
        assert rotated.status_code == 200
        await me(platform, squatter_access)

        citizen = await platform.client.get(await confirm(platform, NEW_CITIZEN, "Lê Văn Cường"))
        assert citizen.status_code == 200, citizen.text
        citizen_headers = {"authorization": f"Bearer {citizen.json()['access_token']}"}

        for access in (squatter_access, rotated.json()["access_token"]):
            refused = await platform.client.get(
                "/api/v1/documents", headers={"authorization": f"Bearer {access}"}
            )
            assert refused.status_code == 401, refused.text
        for refresh in (squatter_refresh, rotated.json()["refresh_token"]):
            again = await platform.client.post(
                "/api/v1/auth/refresh", json={"refresh_token": refresh}
            )
            assert again.status_code == 401, again.text
        password = await platform.client.post(
            "/api/v1/auth/token", data={"username": NEW_CITIZEN, "password": "mat-khau-ke-gian"}
        )
        assert password.status_code == 401
        # The citizen's own login works, and is the account's only way in.
        assert (await me(platform, citizen.json()["access_token"]))["identity_verified"] is True
        wallet = await platform.client.get("/api/v1/documents", headers=citizen_headers)
        assert wallet.status_code == 200, wallet.text

    async def test_the_takeover_is_recorded_on_the_account(self, platform: Platform) -> None:
        await platform.client.post(
            "/api/v1/auth/register",
            json=SQUATTER,
        )
        await platform.client.post(
            "/api/v1/auth/token", data={"username": NEW_CITIZEN, "password": "mat-khau-ke-gian"}
        )
        for _ in range(2):  # the second verified login takes nothing over
            login = await platform.client.get(await confirm(platform, NEW_CITIZEN, "Lê Văn Cường"))
            assert login.status_code == 200
        runtime = platform.apps["gateway"].state.runtime
        async with runtime.db.session() as session:
            user = await repository.get_user_by_username(session, NEW_CITIZEN)
            assert user is not None
            events = await repository.account_events(session, user.id)
        assert [(e.kind, e.detail) for e in events] == [
            ("account.taken_over", {"password_cleared": True, "logins_ended": 1})
        ]


async def test_the_index_counts_online_dossiers_from_verified_accounts(
    platform: Platform,
) -> None:
    """Indicator 4.5: of the online dossiers received, those whose applicant logged in
    with VNeID. One citizen does, the other uses a password."""
    verified = await platform.client.get(await confirm(platform, "001099000001", "Trần Thị Bình"))
    assert verified.status_code == 200, verified.text
    password = await platform.client.post(
        "/api/v1/auth/token", data={"username": "001099000002", "password": "congdan-demo"}
    )
    desk = platform.officer("desk-1", Position.DESK)
    for answer in (verified, password):
        citizen = {"authorization": f"Bearer {answer.json()['access_token']}"}
        submitted = await flow.submit(platform, citizen)
        assert submitted.status_code == 201, submitted.text
        code = submitted.json()["code"]
        assert (await flow.act(platform, code, "receive", desk)).status_code == 200
    admin = platform.auth(Principal(subject="admin", username="admin", role=Role.ADMIN))

    async def indicator() -> dict[str, Any] | None:
        report = await platform.client.get("/api/v1/stats/index", headers=admin)
        assert report.status_code == 200, report.text
        [found] = [i for i in report.json()["indicators"] if i["code"] == "4.5"]
        rate: dict[str, Any] = found["rate"]
        return rate if rate["inputs"]["online"] == 2 else None  # both clocks have started

    rate = await eventually(indicator)
    assert (rate["value"], rate["inputs"]) == (50.0, {"verified": 1.0, "online": 2.0})


async def test_a_citizen_without_an_account_gets_one_without_a_password(
    platform: Platform,
) -> None:
    login = await platform.client.get(await confirm(platform, NEW_CITIZEN, "Lê Văn Cường"))
    assert login.status_code == 200, login.text
    assert (await me(platform, login.json()["access_token"]))["username"] == NEW_CITIZEN
    for password in ("", "!vneid", NEW_CITIZEN):
        attempt = await platform.client.post(
            "/api/v1/auth/token", data={"username": NEW_CITIZEN, "password": password}
        )
        assert attempt.status_code in (401, 422), attempt.text
    # Registering the number with a password now says the account exists.
    registered = await platform.client.post(
        "/api/v1/auth/register",
        json={"id_number": NEW_CITIZEN, "full_name": "Lê Văn Cường", "password": "mật-khẩu-dài"},
    )
    assert registered.status_code == 409


async def test_an_assertion_is_accepted_once_and_only_by_the_browser_that_asked(
    platform: Platform,
) -> None:
    back = await confirm(platform, "001099000002", "Nguyễn Văn An")
    browser = httpx.Cookies(platform.client.cookies)
    assert browser.get(vneid.STATE_COOKIE)
    # Another browser (no state cookie) with the same URL: refused, nothing used up.
    platform.client.cookies.clear()
    stranger = await platform.client.get(back)
    assert stranger.status_code == 401
    assert stranger.headers["content-type"] == "application/problem+json"
    platform.client.cookies = httpx.Cookies(browser)
    first = await platform.client.get(back)
    assert first.status_code == 200, first.text
    assert not platform.client.cookies.get(vneid.STATE_COOKIE)  # the login's state is spent
    platform.client.cookies = httpx.Cookies(browser)  # the same browser, replaying
    replayed = await platform.client.get(back)
    assert replayed.status_code == 401


def claims_for(state: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "vneid-mock",
        "aud": "onestop",
        "sub": "001099000001",
        "name": "Trần Thị Bình",
        "nonce": vneid.nonce_of(state),
        "iat": now,
        "exp": now + 120,
        "jti": uuid.uuid4().hex,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


async def test_a_wrong_assertion_is_refused(platform: Platform) -> None:
    key: SigningKey = platform.apps["national_portal"].state.vneid_key
    impostor = SigningKey()
    impostor.kid = key.kid  # a forger naming the provider's key

    def unsigned(claims: dict[str, Any]) -> str:
        return jwt.encode(claims, "", algorithm="none", headers={"kid": key.kid})

    def symmetric(claims: dict[str, Any]) -> str:  # HS256 keyed with the public key's text
        secret = str(key.jwk()["n"])
        return jwt.encode(claims, secret, algorithm="HS256", headers={"kid": key.kid})

    cases: dict[str, Any] = {
        "signed by another key": lambda s: impostor.sign(claims_for(s)),
        "alg none": lambda s: unsigned(claims_for(s)),
        "alg HS256": lambda s: symmetric(claims_for(s)),
        "another audience": lambda s: key.sign(claims_for(s, aud="another-app")),
        "another issuer": lambda s: key.sign(claims_for(s, iss="someone")),
        "expired": lambda s: key.sign(
            claims_for(s, iat=int(time.time()) - 600, exp=int(time.time()) - 300)
        ),
        "another login's nonce": lambda s: key.sign(claims_for(s, nonce=vneid.nonce_of("x"))),
        "no nonce": lambda s: key.sign(claims_for(s, nonce=None)),
        "an unknown key id": lambda s: jwt.encode(
            claims_for(s), "k" * 32, algorithm="HS256", headers={"kid": "unknown"}
        ),
        "a number that does not check": lambda s: key.sign(claims_for(s, sub="999999999999")),
    }
    for name, make in cases.items():
        _, query = await start(platform)
        state = query["state"][0]
        answer = await platform.client.get(
            "/api/v1/auth/vneid/callback", params={"state": state, "assertion": make(state)}
        )
        assert answer.status_code == 401, f"{name}: {answer.status_code} {answer.text}"
    # What is no compact JWS at all is refused by its shape (the document declares it).
    _, query = await start(platform)
    answer = await platform.client.get(
        "/api/v1/auth/vneid/callback", params={"state": query["state"][0], "assertion": "no-jwt"}
    )
    assert answer.status_code == 422, answer.text
    # The same, rightly made, is accepted: what was refused above was the fault alone.
    _, query = await start(platform)
    state = query["state"][0]
    good = await platform.client.get(
        "/api/v1/auth/vneid/callback",
        params={"state": state, "assertion": key.sign(claims_for(state))},
    )
    assert good.status_code == 200, good.text


async def test_the_provider_sends_back_only_to_the_platform_callback(platform: Platform) -> None:
    location, query = await start(platform)
    fields = {name: values[0] for name, values in query.items()}
    for redirect_uri in ("https://evil.example/steal", "http://gw/api/v1/auth/token"):
        page = await platform.client.get(
            urlsplit(location).path, params={**fields, "redirect_uri": redirect_uri}
        )
        assert page.status_code == 422, redirect_uri
        posted = await platform.client.post(
            urlsplit(location).path,
            data={**fields, "redirect_uri": redirect_uri, "id_number": "001099000001",
                  "full_name": "x"},
        )  # fmt: skip
        assert posted.status_code == 422
        assert "location" not in posted.headers
    unknown_client = await platform.client.get(
        urlsplit(location).path, params={**fields, "client_id": "another"}
    )
    assert unknown_client.status_code == 422


async def test_a_rotated_provider_key_is_fetched_again(platform: Platform) -> None:
    """The mock restarts with a new key: the gateway reads the key set again."""
    login = await platform.client.get(await confirm(platform, "001099000001", "Trần Thị Bình"))
    assert login.status_code == 200
    platform.apps["national_portal"].state.vneid_key = SigningKey()
    keys: vneid.ProviderKeys = platform.apps["gateway"].state.vneid_keys
    keys._fetched_at -= vneid.REFETCH_SECONDS  # the last fetch was long enough ago
    login = await platform.client.get(await confirm(platform, "001099000001", "Trần Thị Bình"))
    assert login.status_code == 200, login.text


def test_the_cookie_and_the_echoed_state_must_be_the_same() -> None:
    assert vneid.same_state("abc", "abc")
    assert not vneid.same_state(None, "abc")
    assert not vneid.same_state("abc", "abd")


async def test_the_key_set_is_not_fetched_for_every_forged_key_id() -> None:
    fetched = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal fetched
        fetched += 1
        return httpx.Response(200, json={"keys": [SigningKey().jwk()]})

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(answer), base_url="http://idp"
    ) as client:
        keys = vneid.ProviderKeys(client, "/jwks.json")
        for forged in range(5):
            assert await keys.key(f"forged-{forged}") is None
    assert fetched == 1


async def test_logins_arriving_together_after_a_rotation_share_one_fetch() -> None:
    rotated = SigningKey()
    fetched = 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal fetched
        fetched += 1
        await asyncio.sleep(0.05)  # the key set is slow to come
        return httpx.Response(200, json={"keys": [rotated.jwk()]})

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(answer), base_url="http://idp"
    ) as client:
        keys = vneid.ProviderKeys(client, "/jwks.json")
        found = await asyncio.gather(*(keys.key(rotated.kid) for _ in range(5)))
    assert all(key is not None for key in found)
    assert fetched == 1


async def test_the_provider_sends_the_browser_back_to_the_address_it_used(
    platform: Platform,
) -> None:
    """Embedded, localhost and 127.0.0.1 are different sites to a browser: the state
    cookie is set on the one it used, so the provider must send it back to that one."""
    started = await platform.client.get("http://localhost:8000/api/v1/auth/vneid")
    location = started.headers["location"]
    assert location.startswith("http://localhost:8000/dvcqg/vneid/authorize?")
    query = parse_qs(urlsplit(location).query)
    assert query["redirect_uri"] == ["http://localhost:8000/api/v1/auth/vneid/callback"]


def test_distributed_the_configured_public_url_is_used_whatever_the_host_says() -> None:
    values: dict[str, Any] = {f"{name}_url": f"http://{name}:8000" for name in UPSTREAM_NAMES}
    settings = GatewaySettings(
        platform=distributed_platform(),
        database_url="postgresql+asyncpg://db/gateway",
        public_url="https://motcua.example.gov.vn",
        vneid_authorize_url="https://vneid.example.gov.vn/authorize",
        **values,
    )
    base = vneid.platform_base(settings, "http://attacker.example/")
    assert base == "https://motcua.example.gov.vn"
    query = parse_qs(urlsplit(vneid.authorize_redirect(settings, "s", base=base)).query)
    assert query["redirect_uri"] == ["https://motcua.example.gov.vn/api/v1/auth/vneid/callback"]


async def test_a_login_begun_by_a_page_is_finished_there(platform: Platform) -> None:
    """The web login (services/web) asks to get the browser back at its page, which
    finishes the login with the same state and assertion."""
    back = await confirm(platform, "001099000002", "Nguyễn Văn An", return_to="/dang-nhap/vneid")
    bounced = await platform.client.get(back)
    assert bounced.status_code == 303, bounced.text
    page = urlsplit(bounced.headers["location"])
    assert page.path == "/dang-nhap/vneid"
    assert parse_qs(page.query).keys() == {"state", "assertion"}
    assert platform.client.cookies.get(vneid.STATE_COOKIE)  # not spent: the page spends it
    finished = await platform.client.get(bounced.headers["location"])
    assert finished.status_code == 303, finished.text
    assert "onestop_session" in finished.headers["set-cookie"]
    # Only a page of this platform: never another site.
    for elsewhere in ("//evil.example/x", "https://evil.example/x", "/dang-nhap/../x", "x"):
        refused = await platform.client.get("/api/v1/auth/vneid", params={"return_to": elsewhere})
        assert refused.status_code == 422, elsewhere


def test_replicas_given_the_same_key_name_it_the_same() -> None:
    """Two portal replicas with one configured key: a login one signs verifies against
    the other's key set (a random key id per process failed half the logins)."""
    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    one, two = SigningKey(pem), SigningKey(pem)
    assert one.kid == two.kid
    assert one.jwk() == two.jwk()
    assert SigningKey().kid != one.kid
    # RFC 7638's example key and thumbprint (section 3.1).
    example = {
        "kty": "RSA",
        "e": "AQAB",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L"
        "6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v"
        "-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08q"
        "NLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awap"
        "JzKnqDKgw",
    }
    assert thumbprint(example) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
