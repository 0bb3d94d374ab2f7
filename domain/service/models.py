"""service (seed 002): after-sales tickets (what) and their visits (when and who)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TimestampMixin, one_of
from domain.accounts.models import INSTALL_LEVELS

TICKET_STATUSES = ("open", "scheduled", "resolved", "closed", "cancelled")
VISIT_STATUSES = ("booked", "completed", "cancelled", "no_show")


class ServiceTicket(TimestampMixin, Base):
    """A fault or maintenance request on an installed charger (dates are calendar dates)."""

    __tablename__ = "service_ticket"
    __table_args__ = (
        one_of("status", TICKET_STATUSES),
        CheckConstraint(
            "install_level IS NULL OR install_level IN ("
            + ", ".join(f"'{v}'" for v in INSTALL_LEVELS)
            + ")",
            name="install_level_valid",
        ),
        CheckConstraint(
            "resolved_date IS NULL OR resolved_date >= fault_reported_date",
            name="resolved_after_reported",
        ),
        CheckConstraint(
            "invoice_authorised_date IS NULL OR invoice_received_date IS NOT NULL",
            name="invoice_authorised_after_received",
        ),
        Index("ix_service_ticket_fault_reported_date", "fault_reported_date"),
        Index("ix_service_ticket_status", "status"),
    )
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    installation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("installation.id", ondelete="RESTRICT"), index=True
    )
    lead_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lead.id", ondelete="RESTRICT"), index=True
    )
    contact: Mapped[str] = mapped_column(String(120))
    contact_phone: Mapped[str | None] = mapped_column(String(16))
    fault_reported_date: Mapped[date] = mapped_column(Date)
    nature_of_fault: Mapped[str] = mapped_column(String(200))
    equipment_details: Mapped[str | None] = mapped_column(Text)
    maintenance: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    install_level: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open")
    resolved_date: Mapped[date | None] = mapped_column(Date)
    customer_satisfied: Mapped[bool | None] = mapped_column(Boolean)
    invoice_received_date: Mapped[date | None] = mapped_column(Date)
    invoice_authorised_date: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    cancelled_at: Mapped[datetime | None]


class ServiceVisit(TimestampMixin, Base):
    """The booking of a ticket: date, time slot, team, status."""

    __tablename__ = "service_visit"
    __table_args__ = (
        one_of("status", VISIT_STATUSES),
        Index("ix_service_visit_team_date", "team_id", "visit_date"),
    )
    service_ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_ticket.id", ondelete="CASCADE"), index=True
    )
    visit_date: Mapped[date] = mapped_column(Date)
    time_slot: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("field_team.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(20), default="booked")
    notes: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None]
