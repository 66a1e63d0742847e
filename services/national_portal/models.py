from datetime import datetime

from sqlalchemy import Integer, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class PortalDossier(Base):
    """A dossier as the national portal holds it (DongBoHoSoMC upserts it)."""

    __tablename__ = "portal_dossiers"

    ma_ho_so: Mapped[str] = mapped_column(String(40), primary_key=True)  # MaHoSo, dossier code
    version: Mapped[int] = mapped_column(Integer)  # the platform's transition sequence
    data: Mapped[str] = mapped_column(Text)  # the last accepted DongBoHoSoMC body, as JSON
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
