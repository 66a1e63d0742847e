"""An account's e-mail and phone: set, verified by a six-digit code sent there (the only
message an unverified address ever gets), removed."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications import planning
from services.notifications.config import NotificationsSettings
from services.notifications.kinds import Kind
from services.notifications.models import AddressKind, Channel, Contact
from services.notifications.preferences import Reach
from services.notifications.schemas import EMAIL_PATTERN, PHONE_PATTERN
from shared.db import Database
from shared.errors import NotFound, TooManyRequests, Unprocessable

# A new code at most this often (each one is an SMS someone pays for).
RESEND_SECONDS = 60


def normalised(kind: AddressKind, address: str) -> str:
    """The address as stored, or 422: e-mail in lower case; a phone as 0xxxxxxxxx."""
    address = address.strip()
    pattern = EMAIL_PATTERN if kind is AddressKind.EMAIL else PHONE_PATTERN
    if re.fullmatch(pattern, address) is None:
        message = (
            "Địa chỉ thư điện tử không hợp lệ."
            if kind is AddressKind.EMAIL
            else ("Số điện thoại không hợp lệ (10 hoặc 11 chữ số, bắt đầu bằng 0 hoặc +84).")
        )
        raise Unprocessable(message, errors=[{"location": "body", "pointer": "#/address",
                                              "message": message}])  # fmt: skip
    if kind is AddressKind.EMAIL:
        return address.lower()
    return "0" + address[3:] if address.startswith("+84") else address


def _hash(settings: NotificationsSettings, contact: Contact, code: str) -> str:
    key = settings.platform.jwt_secret.get_secret_value().encode()
    text = f"{contact.account}:{contact.kind.value}:{contact.address}:{code}".encode()
    return hmac.new(key, text, hashlib.sha256).hexdigest()


async def set_address(
    session: AsyncSession,
    settings: NotificationsSettings,
    *,
    account: str,
    kind: AddressKind,
    address: str,
    now: datetime,
) -> Contact:
    """Set (or repeat) the address and send it a code; it is unverified until entered."""
    address = normalised(kind, address)
    contact = await session.get(Contact, (account, kind), with_for_update=True)
    if contact is None:
        contact = Contact(account=account, kind=kind, address=address, code_tries_left=0,
                          updated_at=now)  # fmt: skip
        session.add(contact)
    elif contact.address == address and contact.verified_at is not None:
        return contact  # already verified: nothing to send
    elif contact.code_sent_at and now - contact.code_sent_at < timedelta(seconds=RESEND_SECONDS):
        wait = RESEND_SECONDS - int((now - contact.code_sent_at).total_seconds())
        raise TooManyRequests(
            f"Vui lòng chờ {wait} giây trước khi gửi lại mã.", headers={"Retry-After": str(wait)}
        )
    code = f"{secrets.randbelow(1_000_000):06d}"
    contact.address = address
    contact.verified_at = None
    contact.code_hash = _hash(settings, contact, code)
    contact.code_expires_at = now + timedelta(seconds=settings.code_ttl_seconds)
    contact.code_tries_left = settings.code_attempts
    contact.code_sent_at = now
    contact.updated_at = now
    email = kind is AddressKind.EMAIL
    reach = Reach(key=account, inbox=False, email=address if email else None,
                  phone=None if email else address)  # fmt: skip
    await planning.enqueue(
        session, settings, event_id=uuid.uuid4(), reach=reach,
        kind=Kind.VERIFY_EMAIL if email else Kind.VERIFY_PHONE,
        channels=(Channel.EMAIL if email else Channel.SMS,),
        context={"otp": code, "minutes": settings.code_ttl_seconds // 60, "greeting": "Xin chào,"},
        now=now, quiet=False,  # asked for now, by the person holding the phone
    )  # fmt: skip
    return contact


class WrongCode(Unprocessable):
    pass


async def verify(
    session: AsyncSession,
    database: Database,
    settings: NotificationsSettings,
    *,
    account: str,
    kind: AddressKind,
    code: str,
    now: datetime,
) -> Contact:
    """Enter the code sent: the address is verified, or 422 with the tries left. A wrong
    try is counted in a transaction of its own, after the request's (which fails, and
    whose lock on the row the count would wait for) has ended."""
    contact = await session.get(Contact, (account, kind), with_for_update=True)
    if contact is None:
        raise NotFound("Chưa có địa chỉ này.")
    if contact.verified_at is not None:
        return contact
    pending = (
        contact.code_hash is not None
        and contact.code_expires_at is not None
        and contact.code_expires_at > now
        and contact.code_tries_left > 0
    )
    if not pending:
        raise _wrong("Mã đã hết hiệu lực. Vui lòng gửi lại mã mới.")
    if not hmac.compare_digest(contact.code_hash or "", _hash(settings, contact, code)):
        tried = contact.code_hash
        await session.rollback()
        async with database.session() as own:
            left = await own.scalar(
                update(Contact)
                .where(Contact.account == account, Contact.kind == kind,
                       Contact.code_hash == tried, Contact.code_tries_left > 0)
                .values(code_tries_left=Contact.code_tries_left - 1)
                .returning(Contact.code_tries_left)
            ) or 0  # fmt: skip
        raise _wrong(f"Mã không đúng. Còn {left} lần thử." if left else
                     "Mã không đúng. Vui lòng gửi lại mã mới.")  # fmt: skip
    contact.verified_at = now
    contact.code_hash = None
    contact.code_expires_at = None
    contact.code_tries_left = 0
    contact.updated_at = now
    return contact


def _wrong(message: str) -> WrongCode:
    return WrongCode(
        message, errors=[{"location": "body", "pointer": "#/code", "message": message}]
    )
