"""Who gets what where: an account's verified addresses and the channels and kinds it
turned off. The inbox is always on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.kinds import ON_BY_DEFAULT, Kind
from services.notifications.models import AddressKind, Channel, Contact, Preference
from shared.db import dialect_insert

ALL_KINDS = "*"


@dataclass(frozen=True)
class Reach:
    """Where one recipient may be reached now, and what they turned on or off."""

    key: str  # an account's subject, or walk-in:<dossier code>
    inbox: bool  # an account has an inbox; a walk-in has none
    email: str | None = None
    phone: str | None = None
    # (channel, kind) -> on or off, kind "*" for the whole channel
    choices: dict[tuple[Channel, str], bool] = field(default_factory=dict)

    def wants(self, channel: Channel, kind: Kind) -> bool:
        if channel is Channel.INBOX:
            return self.inbox
        address = self.email if channel is Channel.EMAIL else self.phone
        if address is None:
            return False
        whole = self.choices.get((channel, ALL_KINDS), channel in ON_BY_DEFAULT)
        return whole and self.choices.get((channel, kind.value), True)

    def address(self, channel: Channel) -> str | None:
        if channel is Channel.INBOX:
            return None
        return self.email if channel is Channel.EMAIL else self.phone


async def choices_of(session: AsyncSession, key: str) -> dict[tuple[Channel, str], bool]:
    # Columns, not entities: this runs for every event (bench/notifications.py).
    rows = await session.execute(
        select(Preference.channel, Preference.kind, Preference.enabled).where(
            Preference.recipient == key
        )
    )
    return {(channel, kind): enabled for channel, kind, enabled in rows}


async def account_reach(session: AsyncSession, account: str) -> Reach:
    """An account's verified addresses (an unverified one gets nothing but its code)."""
    contacts = await session.execute(
        select(Contact.kind, Contact.address).where(
            Contact.account == account, Contact.verified_at.is_not(None)
        )
    )
    verified: dict[AddressKind, str] = {row.kind: row.address for row in contacts}
    return Reach(
        key=account,
        inbox=True,
        email=verified.get(AddressKind.EMAIL),
        phone=verified.get(AddressKind.PHONE),
        choices=await choices_of(session, account),
    )


async def choose(
    session: AsyncSession,
    key: str,
    settings: Iterable[tuple[Channel, str, bool]],
    *,
    now: datetime,
) -> None:
    """Record choices (channel, kind or "*", on), replacing earlier ones."""
    insert = dialect_insert(session)
    for channel, kind, enabled in settings:
        statement = insert(Preference).values(
            recipient=key, channel=channel, kind=kind, enabled=enabled, updated_at=now
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["recipient", "channel", "kind"],
                set_={"enabled": enabled, "updated_at": now},
            )
        )
