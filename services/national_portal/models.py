from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class PortalProcedure(Base):
    """A procedure of the national database (CSDL TTHC): dossiers must name one."""

    __tablename__ = "portal_procedures"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)  # MaTTHC
    name: Mapped[str] = mapped_column(String(500))


class PortalDossier(Base):
    """A dossier as the national portal holds it (DongBoHoSoMC upserts it)."""

    __tablename__ = "portal_dossiers"

    ma_ho_so: Mapped[str] = mapped_column(String(40), primary_key=True)  # MaHoSo, dossier code
    version: Mapped[int] = mapped_column(Integer)  # the platform's transition sequence
    data: Mapped[str] = mapped_column(Text)  # the last accepted DongBoHoSoMC body, as JSON
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    # What the index is computed from, out of ``data``.
    status: Mapped[int] = mapped_column(Integer, server_default="1")  # TrangThaiHoSo
    procedure_code: Mapped[str] = mapped_column(String(40), server_default="")  # MaTTHC
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # NgayHenTra
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # NgayKetThucXuLy
    # Supplement requests (DanhSachHoSoBoSung): more than one counts the dossier late.
    supplements: Mapped[int] = mapped_column(Integer, server_default="0")
    # Every upsert received, repeats included (a sync proves "exactly once" against it).
    received: Mapped[int] = mapped_column(Integer, server_default="0")


class PortalProgress(Base):
    """One progress step (CapNhatTienDoHoSoMC). A repeat of a step is not kept twice."""

    __tablename__ = "portal_progress"
    __table_args__ = (UniqueConstraint("ma_ho_so", "at", "status", "content"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ma_ho_so: Mapped[str] = mapped_column(String(40), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())  # ThoiDiemXuLy
    status: Mapped[int] = mapped_column(Integer)  # TrangThai
    content: Mapped[str] = mapped_column(String(2000))  # NoiDungXuLy
    handler: Mapped[str] = mapped_column(String(200))  # NguoiXuLy
    data: Mapped[str] = mapped_column(Text)
