"""A mock of the national digital identity login (VNeID), as the platform meets it: the
citizen's browser is sent to ``/vneid/authorize``, confirms who they are, and is sent
back to the platform with a signed assertion (a JWT, RS256), whose key the platform
reads from ``/vneid/jwks.json``.

The real system confirms the person in its app; the mock asks for the ID number and
name on a page, in Vietnamese like the rest. Its key is made when it starts unless
one is configured (``PORTAL_VNEID_PRIVATE_KEY``, the same for every replica), so a
restarted mock signs with a new key and the platform must fetch the key set again: it
does, on an unknown key id. The key id is the key's thumbprint.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import time
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.national_portal.config import NationalPortalSettings
from services.national_portal.router import SettingsDep
from shared.errors import Unprocessable

ISSUER = "vneid-mock"
ASSERTION_SECONDS = 120
# Where a registered client may be sent back to: its callback, on any host it serves.
CALLBACK_PATH = "/api/v1/auth/vneid/callback"
ID_NUMBER = re.compile(r"^\d{12}$")


class SigningKey:
    """The mock's RSA key and its public half as a JWK."""

    def __init__(self, pem: str | None = None) -> None:
        if pem:
            loaded = serialization.load_pem_private_key(pem.encode(), password=None)
            if not isinstance(loaded, rsa.RSAPrivateKey):
                raise ValueError("PORTAL_VNEID_PRIVATE_KEY must be an RSA key")
            self._key = loaded
        else:
            self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = thumbprint(self._public_jwk())

    def _public_jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(
            self._key.public_key(), as_dict=True
        )
        return public

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def jwk(self) -> dict[str, Any]:
        return {**self._public_jwk(), "kid": self.kid, "use": "sig", "alg": "RS256"}


def thumbprint(jwk: dict[str, Any]) -> str:
    """The key's id, from the key itself (RFC 7638): every replica given the same key
    names it the same, so a login signed by one verifies against another's key set."""
    members = {name: jwk[name] for name in ("e", "kty", "n")}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


async def get_key(request: Request) -> SigningKey:
    key: SigningKey = request.app.state.vneid_key
    return key


KeyDep = Annotated[SigningKey, Depends(get_key)]
router = APIRouter(prefix="/vneid", tags=["vneid"])


def _check_client(settings: NationalPortalSettings, client_id: str, redirect_uri: str) -> None:
    """Only the registered client, and only back to its callback (no open redirect)."""
    parts = urlsplit(redirect_uri)
    if (
        client_id != settings.client_id
        or parts.scheme not in ("http", "https")
        or parts.path != CALLBACK_PATH
    ):
        raise Unprocessable("Ứng dụng hoặc địa chỉ quay lại không được đăng ký với VNeID.")


@router.get("/authorize", response_class=HTMLResponse)
async def authorize_page(
    settings: SettingsDep,
    client_id: Annotated[str, Query(max_length=100)],
    redirect_uri: Annotated[str, Query(max_length=2000)],
    state: Annotated[str, Query(max_length=200)],
    nonce: Annotated[str, Query(max_length=200)],
) -> HTMLResponse:
    """The page the citizen confirms their identity on."""
    _check_client(settings, client_id, redirect_uri)
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name, value in (
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("state", state),
            ("nonce", nonce),
        )
    )
    return HTMLResponse(PAGE.format(hidden=hidden))


@router.post("/authorize")
async def confirm(
    settings: SettingsDep,
    key: KeyDep,
    client_id: Annotated[str, Form(max_length=100)],
    redirect_uri: Annotated[str, Form(max_length=2000)],
    state: Annotated[str, Form(max_length=200)],
    nonce: Annotated[str, Form(max_length=200)],
    id_number: Annotated[str, Form(max_length=12)],
    full_name: Annotated[str, Form(min_length=1, max_length=200)],
) -> RedirectResponse:
    """The citizen confirmed: back to the platform with the signed assertion."""
    _check_client(settings, client_id, redirect_uri)
    if not ID_NUMBER.match(id_number):
        raise Unprocessable(
            "Số định danh cá nhân gồm đúng 12 chữ số.",
            errors=[{"location": "body", "pointer": "#/id_number", "message": "12 chữ số."}],
        )
    now = int(time.time())
    assertion = key.sign(
        {
            "iss": ISSUER,
            "aud": client_id,
            "sub": id_number,
            "name": full_name.strip(),
            "nonce": nonce,
            "iat": now,
            "exp": now + ASSERTION_SECONDS,
            "jti": uuid.uuid4().hex,
            "acr": "vneid-level-2",  # the identity level the app vouches for
        }
    )
    query = urlencode({"state": state, "assertion": assertion})
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{query}", status_code=303)


@router.get("/jwks.json")
async def key_set(key: KeyDep) -> dict[str, list[dict[str, Any]]]:
    """The public key the assertions are signed with."""
    return {"keys": [key.jwk()]}


PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Đăng nhập VNeID (mô phỏng)</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 26rem; margin: 3rem auto; }}
label {{ display: block; margin-top: 1rem; }}
input {{ width: 100%; padding: .5rem; font-size: 1rem; box-sizing: border-box; }}
button {{ margin-top: 1.5rem; padding: .6rem 1.2rem; font-size: 1rem; }}
</style></head>
<body>
<h1>Tài khoản định danh điện tử VNeID</h1>
<p>Bản mô phỏng để thử đăng nhập: xác nhận danh tính để quay lại Cổng dịch vụ công.</p>
<form method="post" action="authorize">{hidden}
<label for="id_number">Số định danh cá nhân</label>
<input id="id_number" name="id_number" inputmode="numeric" pattern="[0-9]{{12}}" required>
<label for="full_name">Họ và tên</label>
<input id="full_name" name="full_name" required>
<button type="submit">Xác nhận</button>
</form>
</body></html>
"""
