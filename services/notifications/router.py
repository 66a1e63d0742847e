"""``/api/v1/notifications``: each account's inbox and settings (contacts, channels,
kinds), the e-mail's stop link, and the admins' view of delivery and dead letters."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

import jwt
from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications import contacts, preferences, repository
from services.notifications.config import NotificationsSettings
from services.notifications.kinds import (
    APPLICANT_CHANNELS,
    APPLICANT_KINDS,
    CHOOSABLE,
    KIND_LABELS,
    OFFICER_CHANNELS,
    ON_BY_DEFAULT,
    Kind,
)
from services.notifications.models import AddressKind, Channel, Contact, Message, State
from services.notifications.planning import read_unsubscribe_token
from services.notifications.schemas import (
    ChannelsIn,
    CodeIn,
    ContactOut,
    DeliveryStatus,
    EmailIn,
    Inbox,
    InboxItem,
    KindChoice,
    MessageOut,
    MessagesOut,
    PhoneIn,
    SettingsOut,
    Unsubscribed,
)
from services.notifications.texts import mask
from shared.access import SIGNED_IN, Grant, allow
from shared.auth import CurrentPrincipal, Principal, Role
from shared.db import DatabaseDep, ReadSessionDep, SessionDep
from shared.errors import Conflict, Forbidden, NotFound
from shared.params import IsoDateTime

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
SIGNED_IN_ONLY = allow(*SIGNED_IN)
ADMIN = allow(Grant.ADMIN)
MessageId = Annotated[uuid.UUID, Path()]
Before = Annotated[IsoDateTime | None, Query(description="Older than this (a page's next_before).")]
Limit = Annotated[int, Query(ge=1, le=100)]


def _settings(request: Request) -> NotificationsSettings:
    settings = request.app.state.runtime.settings
    assert isinstance(settings, NotificationsSettings)
    return settings


# -- the inbox -----------------------------------------------------------------------------


@router.get("", response_model=Inbox, **SIGNED_IN_ONLY)
async def inbox(
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    unread: Annotated[bool, Query(description="Only those not read yet.")] = False,
    before: Before = None,
    limit: Limit = 20,
) -> Inbox:
    """The caller's messages in the platform, newest first, and how many are unread."""
    rows, count = await repository.inbox(
        session, principal.subject, unread=unread, before=before, limit=limit
    )
    return Inbox(
        items=[_item(m) for m in rows],
        unread=count,
        next_before=rows[-1].created_at if len(rows) == limit else None,
    )


def _item(message: Message) -> InboxItem:
    return InboxItem(
        id=message.id,
        kind=message.kind,
        title=message.subject or "",
        body=message.body,
        dossier_code=message.dossier_code,
        created_at=message.created_at,
        read_at=message.read_at,
    )


@router.post("/{message_id}/read", response_model=InboxItem, **SIGNED_IN_ONLY)
async def mark_read(
    session: SessionDep, principal: CurrentPrincipal, message_id: MessageId
) -> InboxItem:
    message = await repository.mark_read(
        session, principal.subject, message_id, now=datetime.now(UTC)
    )
    if message is None:
        raise NotFound("Không có thông báo này.")
    return _item(message)


@router.post("/read-all", status_code=204, **SIGNED_IN_ONLY)
async def mark_all_read(session: SessionDep, principal: CurrentPrincipal) -> None:
    await repository.mark_all_read(session, principal.subject, now=datetime.now(UTC))


# -- settings ------------------------------------------------------------------------------


def _kind_channels(role: Role) -> dict[Kind, tuple[Channel, ...]]:
    """The kinds an account of ``role`` gets, and on which channels (the inbox aside)."""
    channels: tuple[Channel, ...]
    if role is Role.CITIZEN:
        kinds = sorted(set(APPLICANT_KINDS.values()) | {Kind.WITHDRAWN}, key=list(Kind).index)
        channels = APPLICANT_CHANNELS
    else:
        kinds = [Kind.DUE_SOON, Kind.OVERDUE, Kind.DIGEST]
        channels = OFFICER_CHANNELS
    return {kind: tuple(c for c in channels if c is not Channel.INBOX) for kind in kinds}


async def _settings_of(
    session: ReadSessionDep | SessionDep, account: str, role: Role
) -> SettingsOut:
    now = datetime.now(UTC)
    found = await repository.contacts(session, account)
    choices = await preferences.choices_of(session, account)
    channels = {
        channel: choices.get((channel, preferences.ALL_KINDS), channel in ON_BY_DEFAULT)
        for channel in (Channel.EMAIL, Channel.SMS, Channel.ZALO)
    }
    if role is not Role.CITIZEN:
        channels = {Channel.EMAIL: channels[Channel.EMAIL]}
    return SettingsOut(
        contacts=[_contact(c, now) for c in found],
        channels=channels,
        kinds=[
            KindChoice(
                kind=kind.value,
                label=KIND_LABELS[kind],
                channels={c: choices.get((c, kind.value), True) for c in kind_channels},
            )
            for kind, kind_channels in _kind_channels(role).items()
        ],
    )


def _contact(contact: Contact, now: datetime) -> ContactOut:
    code_live = contact.code_expires_at is not None and contact.code_expires_at > now
    return ContactOut(
        kind=contact.kind,
        address=contact.address,
        verified=contact.verified_at is not None,
        code_pending=contact.verified_at is None and code_live and contact.code_tries_left > 0,
    )


@router.get("/settings", response_model=SettingsOut, **SIGNED_IN_ONLY)
async def read_settings(session: ReadSessionDep, principal: CurrentPrincipal) -> SettingsOut:
    """The caller's addresses (verified or not), channels and the kinds turned off."""
    return await _settings_of(session, principal.subject, principal.role)


async def _set_contact(
    request: Request, session: AsyncSession, principal: Principal, kind: AddressKind, address: str
) -> SettingsOut:
    await contacts.set_address(session, _settings(request), account=principal.subject,
                               kind=kind, address=address, now=datetime.now(UTC))  # fmt: skip
    return await _settings_of(session, principal.subject, principal.role)


@router.put("/settings/contacts/email", response_model=SettingsOut, **SIGNED_IN_ONLY)
async def set_email(
    request: Request, session: SessionDep, principal: CurrentPrincipal, body: EmailIn
) -> SettingsOut:
    """Set an e-mail: a code is sent to it, and nothing else until it is entered
    (``…/verify``). Asking again sends a new code, at most once a minute (429)."""
    return await _set_contact(request, session, principal, AddressKind.EMAIL, body.address)


@router.put("/settings/contacts/phone", response_model=SettingsOut, **SIGNED_IN_ONLY)
async def set_phone(
    request: Request, session: SessionDep, principal: CurrentPrincipal, body: PhoneIn
) -> SettingsOut:
    """Set a phone (citizens: SMS and Zalo), verified like an e-mail."""
    if principal.role is not Role.CITIZEN:
        raise Forbidden("Cán bộ nhận thông báo qua thư điện tử và trong hệ thống.")
    return await _set_contact(request, session, principal, AddressKind.PHONE, body.address)


@router.post("/settings/contacts/{kind}/verify", response_model=SettingsOut, **SIGNED_IN_ONLY)
async def verify_contact(
    request: Request, session: SessionDep, database: DatabaseDep, principal: CurrentPrincipal,
    kind: AddressKind, body: CodeIn,
) -> SettingsOut:  # fmt: skip
    """Enter the code sent to the address. Five wrong tries end the code."""
    await contacts.verify(session, database, _settings(request), account=principal.subject,
                          kind=kind, code=body.code, now=datetime.now(UTC))  # fmt: skip
    return await _settings_of(session, principal.subject, principal.role)


def _remover(kind: AddressKind) -> Callable[..., Awaitable[SettingsOut]]:
    async def remove_contact(session: SessionDep, principal: CurrentPrincipal) -> SettingsOut:
        """Nothing more goes to that address (messages owed to it already still go)."""
        if not await repository.remove_contact(session, principal.subject, kind):
            raise NotFound("Chưa có địa chỉ này.")
        return await _settings_of(session, principal.subject, principal.role)

    return remove_contact


# One path an address kind, as for setting it (a templated path beside the set ones would
# answer methods their document does not declare).
for _kind in AddressKind:
    router.add_api_route(
        f"/settings/contacts/{_kind.value}", _remover(_kind), methods=["DELETE"],
        response_model=SettingsOut, name=f"remove_{_kind.value}",
        responses={404: {"description": "No such address was set."}}, **SIGNED_IN_ONLY,
    )  # fmt: skip


@router.put("/settings/channels", response_model=SettingsOut, **SIGNED_IN_ONLY)
async def set_channels(
    session: SessionDep, principal: CurrentPrincipal, body: ChannelsIn
) -> SettingsOut:
    """Turn channels on or off, or one kind of message on one channel. The inbox is
    always on; the settings show the kinds the caller's role gets."""
    choices = [
        (Channel(channel), preferences.ALL_KINDS, on) for channel, on in body.channels.items()
    ]
    choices += [
        (Channel(channel), kind.value, on)
        for kind, channels in body.kinds.items()
        for channel, on in channels.items()
    ]
    await preferences.choose(session, principal.subject, choices, now=datetime.now(UTC))
    return await _settings_of(session, principal.subject, principal.role)


@router.post("/unsubscribe", response_model=Unsubscribed, **allow(Grant.SIGNED))
async def unsubscribe(
    request: Request,
    session: SessionDep,
    token: Annotated[str, Query(min_length=20, max_length=2000)],
) -> Unsubscribed:
    """The stop link of an e-mail (and its List-Unsubscribe one-click POST): no more of
    that kind by e-mail to that recipient. The signed token is the credential."""
    try:
        key, kind = read_unsubscribe_token(_settings(request), token)
    except (jwt.InvalidTokenError, ValueError, KeyError) as exc:
        raise Forbidden("Liên kết hủy nhận thư không hợp lệ.") from exc
    if kind not in CHOOSABLE:
        raise Forbidden("Liên kết hủy nhận thư không hợp lệ.")
    await preferences.choose(
        session, key, [(Channel.EMAIL, kind.value, False)], now=datetime.now(UTC)
    )
    return Unsubscribed(kind=kind.value, label=KIND_LABELS[kind], channel=Channel.EMAIL)


# -- admins: delivery ----------------------------------------------------------------------


def _shown(message: Message) -> MessageOut:
    return MessageOut(
        id=message.id, event_id=message.event_id, recipient=message.recipient,
        channel=message.channel, kind=message.kind, template=message.template,
        address=mask(message.address) if message.address else None, subject=message.subject,
        dossier_code=message.dossier_code, state=message.state, attempts=message.attempts,
        next_attempt_at=message.next_attempt_at, last_error=message.last_error,
        created_at=message.created_at, sent_at=message.sent_at,
        delivered_at=message.delivered_at, failed_at=message.failed_at,
    )  # fmt: skip


@router.get("/messages", response_model=MessagesOut, **ADMIN)
async def messages(
    session: ReadSessionDep,
    state: State | None = None,
    channel: Channel | None = None,
    dossier: Annotated[str | None, Query(max_length=60)] = None,
    before: Before = None,
    limit: Limit = 50,
) -> MessagesOut:
    """Every message with its state, newest first (``state=failed``: the dead letters)."""
    rows = await repository.messages(
        session, state=state, channel=channel, dossier=dossier, before=before, limit=limit
    )
    return MessagesOut(
        items=[_shown(m) for m in rows],
        next_before=rows[-1].created_at if len(rows) == limit else None,
    )


@router.post("/messages/{message_id}/resend", response_model=MessageOut, **ADMIN)
async def resend(session: SessionDep, message_id: MessageId) -> MessageOut:
    """A dead letter owed again, with a fresh budget of attempts."""
    try:
        message = await repository.resend(session, message_id, now=datetime.now(UTC))
    except repository.NotDead as exc:
        raise Conflict("Chỉ gửi lại được thông báo gửi không thành công.") from exc
    if message is None:
        raise NotFound("Không có thông báo này.")
    return _shown(message)


@router.get("/status", response_model=DeliveryStatus, **ADMIN)
async def status(session: ReadSessionDep) -> DeliveryStatus:
    """Messages by channel and state, how long the oldest owed one waited, the dead letters."""
    now = datetime.now(UTC)
    by_channel = await repository.counts(session)
    oldest = await repository.oldest_owed(session, now=now)
    return DeliveryStatus(
        by_channel=by_channel,
        queued=sum(row.get(State.QUEUED, 0) for row in by_channel.values()),
        oldest_owed_seconds=(now - oldest).total_seconds() if oldest else None,
        waiting_for_morning=await repository.waiting_for_morning(session, now=now),
        dead_letters=sum(row.get(State.FAILED, 0) for row in by_channel.values()),
    )
