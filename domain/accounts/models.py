"""accounts: zones, OEMs and rate cards, users, field teams, audit, ref counters."""

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
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, IdMixin, TimestampMixin, one_of
from domain.actor import ROLES

INSTALL_LEVELS = ("basic", "standard", "premium")
CHARGER_TYPES = ("3.3kW AC", "7.2kW AC", "11kW AC")


class Zone(TimestampMixin, Base):
    """A metro service zone, defined by the districts it covers."""

    __tablename__ = "zone"
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(60))
    holiday_subdiv: Mapped[str | None] = mapped_column(String(4))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    districts: Mapped[list[ZoneDistrict]] = relationship(
        back_populates="zone", cascade="all, delete-orphan"
    )


class ZoneDistrict(IdMixin, Base):
    """One district (India Post naming, upper case) covered by a zone."""

    __tablename__ = "zone_district"
    __table_args__ = (UniqueConstraint("state", "district"),)
    zone_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("zone.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(60))
    district: Mapped[str] = mapped_column(String(80))
    zone: Mapped[Zone] = relationship(back_populates="districts")


class Oem(TimestampMixin, Base):
    """A car maker the company installs for; SLA targets in business days."""

    __tablename__ = "oem"
    __table_args__ = (
        CheckConstraint("sla_survey_days > 0", name="sla_survey_days_positive"),
        CheckConstraint("sla_install_days > 0", name="sla_install_days_positive"),
    )
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    contact_email: Mapped[str] = mapped_column(String(254))
    sla_survey_days: Mapped[int] = mapped_column(Integer)
    sla_install_days: Mapped[int] = mapped_column(Integer)
    required_evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class OemRate(IdMixin, Base):
    """Rate card line: price (INR) of an install level for an OEM from ``valid_from``."""

    __tablename__ = "oem_rate"
    __table_args__ = (
        UniqueConstraint("oem_id", "install_level", "valid_from"),
        one_of("install_level", INSTALL_LEVELS),
        CheckConstraint("price >= 0", name="price_not_negative"),
    )
    oem_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("oem.id", ondelete="CASCADE"))
    install_level: Mapped[str] = mapped_column(String(20))
    price: Mapped[Decimal]
    valid_from: Mapped[date] = mapped_column(Date)


class FieldTeam(TimestampMixin, Base):
    """A field crew based in one zone; ``skills`` lists the charger types it installs."""

    __tablename__ = "field_team"
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    zone_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("zone.id", ondelete="RESTRICT"), index=True
    )
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class FieldTeamMember(IdMixin, Base):
    """A person in a field team (optionally a login user)."""

    __tablename__ = "field_team_member"
    team_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("field_team.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    full_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(16))
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False)


class TeamUnavailability(IdMixin, Base):
    """A team cannot work from ``from_date`` to ``to_date`` inclusive (leave, breakdown)."""

    __tablename__ = "team_unavailability"
    __table_args__ = (CheckConstraint("to_date >= from_date", name="dates_ordered"),)
    team_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("field_team.id", ondelete="CASCADE"), index=True
    )
    from_date: Mapped[date] = mapped_column(Date)
    to_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )


class AppUser(TimestampMixin, Base):
    """A login. ``oem_id`` is required for ``oem_viewer``; ``team_id`` for field engineers."""

    __tablename__ = "app_user"
    __table_args__ = (
        one_of("role", ROLES),
        CheckConstraint("username = lower(username)", name="username_lower"),
        CheckConstraint("role <> 'oem_viewer' OR oem_id IS NOT NULL", name="oem_viewer_has_oem"),
        CheckConstraint("failed_login_count >= 0", name="failed_login_count_not_negative"),
    )
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(20))
    oem_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("oem.id", ondelete="RESTRICT"))
    zone_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("zone.id", ondelete="SET NULL"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("field_team.id", ondelete="SET NULL")
    )
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    # Bumped when the password changes (or is reset) or the role/scope changes: a logged-in
    # session or login cookie carrying an older version is logged out (app/auth.py).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Set when an admin chose the password (new user, reset); until the user picks their own
    # (change_own_password), the app shows them only My account (app/auth.py, app/nav.py).
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )


class AuditEvent(IdMixin, Base):
    """One row per command: who did what to which entity, with before/after (JSON)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_entity", "entity_type", "entity_id"),
        Index("ix_audit_event_created_at", "created_at"),
    )
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    actor_username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class RefCounter(IdMixin, Base):
    """Per-prefix, per-year counter behind human-readable refs (``LEAD-2026-00001``)."""

    __tablename__ = "ref_counter"
    __table_args__ = (
        UniqueConstraint("prefix", "year"),
        CheckConstraint("last_value >= 0", name="last_value_not_negative"),
    )
    prefix: Mapped[str] = mapped_column(String(8))
    year: Mapped[int] = mapped_column(Integer)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


__all__ = [
    "CHARGER_TYPES",
    "INSTALL_LEVELS",
    "AppUser",
    "AuditEvent",
    "FieldTeam",
    "FieldTeamMember",
    "Oem",
    "OemRate",
    "RefCounter",
    "TeamUnavailability",
    "Zone",
    "ZoneDistrict",
]
