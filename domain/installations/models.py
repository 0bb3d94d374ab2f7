"""installations (seed 001): the installation lifecycle, assignments, reports, media, logs."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, IdMixin, TimestampMixin, one_of
from domain.accounts.models import INSTALL_LEVELS

INSTALLATION_STATUSES = (
    "planned",
    "material_pending",
    "material_ready",
    "confirmed",
    "in_progress",
    "completed",
    "report_submitted",
    "closed",
    "rescheduled",
    "cancelled",
)
ASSIGNMENT_ROLES = ("primary", "emergency_backup")
MEDIA_KINDS = ("photo", "video", "signature", "document")
DAY_TYPES = ("productive", "non_productive", "holiday")


class Installation(TimestampMixin, Base):
    """A charger installation created from an approved survey (one per survey)."""

    __tablename__ = "installation"
    __table_args__ = (
        one_of("status", INSTALLATION_STATUSES),
        CheckConstraint(
            "install_level IS NULL OR install_level IN ("
            + ", ".join(f"'{v}'" for v in INSTALL_LEVELS)
            + ")",
            name="install_level_valid",
        ),
        Index("ix_installation_status", "status"),
        Index("ix_installation_completed_at", "completed_at"),
        Index("ix_installation_scheduled_date", "scheduled_date"),
        # covering the KPI SLA scan (domain.kpi): completions in lead order, see sla_sql
        Index(
            "ix_installation_lead_completed",
            "lead_id",
            "completed_at",
            "install_level",
            "completed_business_day",
        ),
    )
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    survey_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("survey.id", ondelete="RESTRICT"), unique=True
    )
    lead_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lead.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="planned")
    scheduled_date: Mapped[date | None] = mapped_column(Date)
    time_slot: Mapped[str | None] = mapped_column(String(20))
    material_ready: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    demo_completed: Mapped[bool] = mapped_column(Boolean, default=False)
    install_level: Mapped[str | None] = mapped_column(String(20))
    completed_at: Mapped[datetime | None]
    completed_business_day: Mapped[int | None] = mapped_column(Integer)
    """Business-day ordinal (a count of business days) of the completion local date in the
    lead's zone's holiday calendar; NULL while not completed. Derived, kept by
    ``domain.business_calendar``; SLA business days = this - ``lead.received_business_day``."""
    closed_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    reschedule_reason: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    standby_team_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("field_team.id", ondelete="SET NULL")
    )
    """A team kept on standby as the emergency backup for this job (holds no slot)."""


class InstallationStatusChange(IdMixin, Base):
    """One lifecycle transition (from, to, who, when, reason); ``created_at`` is when."""

    __tablename__ = "installation_status_change"
    __table_args__ = (Index("ix_installation_status_change_inst", "installation_id", "created_at"),)
    installation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("installation.id", ondelete="CASCADE")
    )
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    changed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    reason: Mapped[str | None] = mapped_column(String(300))


class InstallationAssignment(IdMixin, Base):
    """A team on an installation for a date and slot; at most one active job per team slot."""

    __tablename__ = "installation_assignment"
    __table_args__ = (
        one_of("role", ASSIGNMENT_ROLES),
        Index(
            "uq_installation_assignment_team_slot_active",
            "team_id",
            "work_date",
            "time_slot",
            unique=True,
            postgresql_where=text("released_at IS NULL"),
            sqlite_where=text("released_at IS NULL"),
        ),
        Index("ix_installation_assignment_installation", "installation_id"),
    )
    installation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("installation.id", ondelete="CASCADE")
    )
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("field_team.id", ondelete="RESTRICT"))
    role: Mapped[str] = mapped_column(String(20), default="primary")
    work_date: Mapped[date] = mapped_column(Date)
    time_slot: Mapped[str] = mapped_column(String(20))
    assigned_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    assigned_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(300))


class InstallationMedia(IdMixin, Base):
    """A photo, video, signature or document of an installation, stored by random name."""

    __tablename__ = "installation_media"
    __table_args__ = (
        one_of("kind", MEDIA_KINDS),
        CheckConstraint("size_bytes > 0", name="size_positive"),
    )
    installation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("installation.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    file_path: Mapped[str] = mapped_column(String(300), unique=True)
    content_type: Mapped[str] = mapped_column(String(80))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    caption: Mapped[str | None] = mapped_column(String(200))
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )


class InstallationReport(TimestampMixin, Base):
    """Post-installation record (seed 001): serial and model mandatory, signature optional."""

    __tablename__ = "installation_report"
    installation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("installation.id", ondelete="CASCADE"), unique=True
    )
    charger_serial: Mapped[str] = mapped_column(String(64), unique=True)
    charger_model_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("material.id", ondelete="RESTRICT")
    )
    success: Mapped[bool] = mapped_column(Boolean, default=True)
    issues: Mapped[str | None] = mapped_column(Text)
    demo_done: Mapped[bool] = mapped_column(Boolean, default=False)
    demo_signed_off: Mapped[bool] = mapped_column(Boolean, default=False)
    signature_media_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("installation_media.id", ondelete="SET NULL")
    )
    submitted_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    submitted_at: Mapped[datetime | None]


class TeamDailyLog(IdMixin, Base):
    """A field team's day: productive / non-productive / holiday, jobs done, notes."""

    __tablename__ = "team_daily_log"
    __table_args__ = (
        UniqueConstraint("team_id", "log_date"),
        one_of("day_type", DAY_TYPES),
        CheckConstraint("jobs_done >= 0", name="jobs_done_not_negative"),
    )
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("field_team.id", ondelete="CASCADE"))
    log_date: Mapped[date] = mapped_column(Date)
    day_type: Mapped[str] = mapped_column(String(20))
    jobs_done: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
