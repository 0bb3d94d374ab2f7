"""surveys: site surveys, their reports, recommended material lines and photos."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, IdMixin, TimestampMixin, one_of

SURVEY_STATUSES = (
    "scheduled",
    "completed",
    "submitted",
    "reviewed_approved",
    "reviewed_rejected",
    "cancelled",
)
SITE_TYPES = ("independent_house", "apartment", "villa", "commercial")
PARKING_TYPES = ("covered", "open", "basement", "stilt")


class Survey(TimestampMixin, Base):
    """A site survey of a lead by a team on a date and time slot."""

    __tablename__ = "survey"
    __table_args__ = (
        one_of("status", SURVEY_STATUSES),
        Index("ix_survey_team_date", "team_id", "survey_date"),
        Index("ix_survey_completed_at", "completed_at"),
        Index(
            "uq_survey_team_slot_scheduled",
            "team_id",
            "survey_date",
            "time_slot",
            unique=True,
            postgresql_where=text("status = 'scheduled'"),
            sqlite_where=text("status = 'scheduled'"),
        ),
    )
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lead.id", ondelete="RESTRICT"), index=True
    )
    team_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("field_team.id", ondelete="RESTRICT")
    )
    survey_date: Mapped[date] = mapped_column(Date)
    time_slot: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    completed_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    reviewer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[datetime | None]
    review_notes: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(String(300))


class SurveyReport(TimestampMixin, Base):
    """Findings of one survey: distances in metres, sanctioned load in kW."""

    __tablename__ = "survey_report"
    __table_args__ = (
        one_of("site_type", SITE_TYPES),
        one_of("parking", PARKING_TYPES),
        CheckConstraint("meter_distance_m >= 0", name="meter_distance_not_negative"),
        CheckConstraint("sanctioned_load_kw > 0", name="sanctioned_load_positive"),
        CheckConstraint("cable_length_m >= 0", name="cable_length_not_negative"),
    )
    survey_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("survey.id", ondelete="CASCADE"), unique=True
    )
    site_type: Mapped[str] = mapped_column(String(20))
    parking: Mapped[str] = mapped_column(String(20))
    meter_distance_m: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    sanctioned_load_kw: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    earthing_ok: Mapped[bool] = mapped_column(Boolean)
    recommended_charger_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("material.id", ondelete="RESTRICT")
    )
    cable_length_m: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    load_enhancement_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    submitted_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )


class SurveyReportLine(IdMixin, Base):
    """A recommended material line of a survey report (quantity in the material's unit)."""

    __tablename__ = "survey_report_line"
    __table_args__ = (
        UniqueConstraint("survey_report_id", "material_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )
    survey_report_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("survey_report.id", ondelete="CASCADE")
    )
    material_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("material.id", ondelete="RESTRICT"))
    quantity: Mapped[int] = mapped_column(Integer)


class SurveyMedia(IdMixin, Base):
    """A photo taken during a survey, stored under the data directory."""

    __tablename__ = "survey_media"
    __table_args__ = (CheckConstraint("size_bytes > 0", name="size_positive"),)
    survey_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("survey.id", ondelete="CASCADE"), index=True
    )
    file_path: Mapped[str] = mapped_column(String(300), unique=True)
    content_type: Mapped[str] = mapped_column(String(80))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    caption: Mapped[str | None] = mapped_column(String(200))
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
