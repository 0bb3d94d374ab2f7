"""reporting (seeds 000, 003): closure packs, weekly/monthly OEM reports, submissions.

The monthly report doubles as the month's closure folder per OEM (seed 003).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, IdMixin, TimestampMixin, one_of

PACK_STATUSES = ("draft", "compiled", "submitted", "accepted", "rejected")
OEM_RESPONSES = ("pending", "accepted", "revision_needed")
MONTH_STATUSES = ("open", "in_review", "closed", "invoiced")
REPORT_TYPES = ("weekly", "monthly", "closure_pack")
COMPILED_REPORT_TYPES = ("weekly", "monthly")
REQUEST_STATUSES = ("queued", "running", "done", "failed")


class ClosurePack(TimestampMixin, Base):
    """All artefacts of one completed installation, bundled for the OEM (seed 000)."""

    __tablename__ = "closure_pack"
    __table_args__ = (
        one_of("status", PACK_STATUSES),
        one_of("oem_response", OEM_RESPONSES),
        Index("ix_closure_pack_status", "status"),
        Index("ix_closure_pack_submitted_to_oem_at", "submitted_to_oem_at"),
    )
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    installation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("installation.id", ondelete="RESTRICT"), unique=True
    )
    lead_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lead.id", ondelete="RESTRICT"), index=True
    )
    survey_report_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("survey_report.id", ondelete="RESTRICT")
    )
    installation_report_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("installation_report.id", ondelete="RESTRICT")
    )
    compiled_by_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("app_user.id", ondelete="RESTRICT")
    )
    confirmation_call_completed: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    submitted_to_oem_at: Mapped[datetime | None]
    oem_response: Mapped[str] = mapped_column(String(20), default="pending")
    version: Mapped[int] = mapped_column(Integer, default=1)
    revision_reason: Mapped[str | None] = mapped_column(Text)
    compiled_at: Mapped[datetime | None]
    report_file: Mapped[str | None] = mapped_column(String(300))


class ClosurePackRevision(IdMixin, Base):
    """An earlier version of a closure pack, kept when the OEM asks for a revision (seed 000).

    ``snapshot`` holds what the pack said at that version (checklist, figures, refs);
    ``report_file`` its PDF, relative to the data directory; ``reason`` the OEM's request.
    """

    __tablename__ = "closure_pack_revision"
    __table_args__ = (UniqueConstraint("closure_pack_id", "version"),)
    closure_pack_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("closure_pack.id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report_file: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )


class _ReportFigures:
    total_leads: Mapped[int] = mapped_column(Integer)
    surveys_completed: Mapped[int] = mapped_column(Integer)
    installations_completed: Mapped[int] = mapped_column(Integer)
    closure_packs_submitted: Mapped[int] = mapped_column(Integer)
    report_file: Mapped[str | None] = mapped_column(String(300))
    submitted_at: Mapped[datetime | None]
    compiled_at: Mapped[datetime | None]
    # Frozen snapshot of everything else the report shows (per-zone breakdown, tables), and
    # its version: a recompile that changes figures bumps it and keeps the old one in
    # ``report_version``.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)


class WeeklyReport(_ReportFigures, TimestampMixin, Base):
    """An OEM's figures for one week, Monday to Sunday in local time (seed 000)."""

    __tablename__ = "weekly_report"
    __table_args__ = (
        UniqueConstraint("oem_id", "week_start"),
        CheckConstraint("week_end > week_start", name="week_ordered"),
    )
    oem_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("oem.id", ondelete="RESTRICT"))
    week_start: Mapped[date] = mapped_column(Date)
    week_end: Mapped[date] = mapped_column(Date)


class MonthlyReport(_ReportFigures, TimestampMixin, Base):
    """An OEM's month: figures, revenue (INR), SLA %, and the month's closure folder."""

    __tablename__ = "monthly_report"
    __table_args__ = (
        UniqueConstraint("oem_id", "month"),
        one_of("status", MONTH_STATUSES),
        CheckConstraint(
            "evidence_url IS NULL OR evidence_url LIKE 'https://%'", name="evidence_url_https"
        ),
        CheckConstraint(
            "sla_compliance_rate IS NULL OR "
            "(sla_compliance_rate >= 0 AND sla_compliance_rate <= 100)",
            name="sla_rate_range",
        ),
    )
    oem_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("oem.id", ondelete="RESTRICT"))
    month: Mapped[date] = mapped_column(Date)
    total_revenue: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    average_installation_time_days: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    sla_compliance_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    status: Mapped[str] = mapped_column(String(20), default="open")
    evidence_url: Mapped[str | None] = mapped_column(String(500))
    closed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    closed_at: Mapped[datetime | None]
    closure_reason: Mapped[str | None] = mapped_column(Text)


class ReportSubmission(IdMixin, Base):
    """The act of submitting a weekly, monthly or closure-pack report to an OEM."""

    __tablename__ = "report_submission"
    __table_args__ = (
        one_of("report_type", REPORT_TYPES),
        Index("ix_report_submission_report_type", "report_type"),
        Index("ix_report_submission_oem_id", "oem_id"),
        Index("ix_report_submission_submitted_at", "submitted_at"),
    )
    report_type: Mapped[str] = mapped_column(String(20))
    report_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    submitted_by_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("app_user.id", ondelete="RESTRICT")
    )
    oem_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("oem.id", ondelete="RESTRICT"))
    submitted_at: Mapped[datetime]
    acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    acknowledged_at: Mapped[datetime | None]


class ReportVersion(IdMixin, Base):
    """A weekly or monthly report's figures as they were before a recompile changed them."""

    __tablename__ = "report_version"
    __table_args__ = (
        one_of("report_type", COMPILED_REPORT_TYPES),
        UniqueConstraint("report_type", "report_id", "version"),
    )
    report_type: Mapped[str] = mapped_column(String(20))
    report_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    version: Mapped[int] = mapped_column(Integer)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report_file: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )


class ReportRequest(TimestampMixin, Base):
    """A report compile queued in the database and run by the scheduler sidecar.

    The app never compiles in the page: it queues a request (``requested_by_id`` set), the
    sidecar's scheduled jobs queue theirs (``requested_by_id`` NULL) and one worker loop picks
    them up. At most one ``queued``/``running`` request per (type, OEM, period) (partial unique
    index), so asking twice does not compile twice. ``force`` recompiles a submitted report.
    """

    __tablename__ = "report_request"
    __table_args__ = (
        one_of("report_type", COMPILED_REPORT_TYPES),
        one_of("status", REQUEST_STATUSES),
        Index("ix_report_request_status_created", "status", "created_at"),
        Index(
            "uq_report_request_pending",
            "report_type",
            "oem_id",
            "period_start",
            unique=True,
            postgresql_where=text("status IN ('queued', 'running')"),
            sqlite_where=text("status IN ('queued', 'running')"),
        ),
    )
    report_type: Mapped[str] = mapped_column(String(20))
    oem_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("oem.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column(Date)
    force: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    report_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
