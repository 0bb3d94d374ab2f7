"""leads: OEM leads (a customer who wants a home charger) and lead-sheet imports."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, IdMixin, TimestampMixin, one_of

LEAD_STATUSES = (
    "new",
    "contacted",
    "survey_scheduled",
    "surveyed",
    "installation_scheduled",
    "installed",
    "closed",
    "cancelled",
)
LEAD_SOURCES = ("import", "manual")


class LeadImport(IdMixin, Base):
    """One uploaded OEM lead sheet and what became of its rows."""

    __tablename__ = "lead_import"
    oem_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("oem.id", ondelete="RESTRICT"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    imported_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)


class Lead(TimestampMixin, Base):
    """A customer sent by an OEM. Phone is E.164; zone is derived from the pincode."""

    __tablename__ = "lead"
    __table_args__ = (
        UniqueConstraint("oem_id", "oem_lead_ref"),
        one_of("status", LEAD_STATUSES),
        one_of("source", LEAD_SOURCES),
        Index("ix_lead_oem_received", "oem_id", "received_at"),
        Index("ix_lead_received_at", "received_at"),
        Index("ix_lead_oem_phone", "oem_id", "phone"),
        Index("ix_lead_status", "status"),
        # covering the KPI SLA join (domain.kpi): read in id order without the wide rows
        Index(
            "ix_lead_sla_cover", "id", "oem_id", "zone_id", "received_at", "received_business_day"
        ),
    )
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    oem_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("oem.id", ondelete="RESTRICT"))
    oem_lead_ref: Mapped[str] = mapped_column(String(64))
    customer_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(Text)
    city: Mapped[str] = mapped_column(String(80))
    pincode: Mapped[str] = mapped_column(String(6))
    zone_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("zone.id", ondelete="RESTRICT"), index=True
    )
    vehicle_model: Mapped[str | None] = mapped_column(String(80))
    requested_charger_type: Mapped[str | None] = mapped_column(String(20))
    received_at: Mapped[datetime]
    received_business_day: Mapped[int | None] = mapped_column(Integer)
    """Business-day ordinal (``business_day.ordinal``, a count of business days) of the received
    local date in the zone's holiday calendar; derived, kept by ``domain.business_calendar``
    (NULL only transiently, before the first flush)."""
    status: Mapped[str] = mapped_column(String(30), default="new")
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(10), default="manual")
    lead_import_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lead_import.id", ondelete="SET NULL")
    )
