"""A field team's jobs: installations the team holds an active assignment for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from db.types import utcnow
from domain.actor import Actor
from domain.calendar import local_date
from domain.errors import PermissionDenied, ValidationError
from domain.installations.models import (
    Installation,
    InstallationAssignment,
    InstallationReport,
)
from domain.leads.models import Lead
from domain.permissions import require

#: roles that may open the "My jobs" list (others use the planner's views)
MY_JOBS_ROLES = ("field_engineer", "admin", "central_ops")
MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class MyJob:
    """One assigned installation visit: when (local date, slot), where, who to call.

    ``assignment_role`` is ``primary`` or ``emergency_backup``; ``has_report`` tells whether
    the installation report has been recorded.
    """

    installation_id: uuid.UUID
    ref: str
    status: str
    work_date: date
    time_slot: str
    assignment_role: str
    customer_name: str
    phone: str
    address: str
    city: str
    pincode: str
    lead_ref: str
    has_report: bool

    @property
    def full_address(self) -> str:
        return f"{self.address}, {self.city} {self.pincode}"


def local_today() -> date:
    """Today's date in the configured local zone (Asia/Kolkata)."""
    return local_date(utcnow())


def my_jobs(
    session: Session,
    actor: Actor,
    *,
    date_from: date,
    date_to: date,
    team_id: uuid.UUID | None = None,
    include_cancelled: bool = False,
) -> list[MyJob]:
    """Installations with an active assignment of the team between two local dates.

    Field engineers always get their own team's (``actor.team_id``; another ``team_id`` is
    refused, no team gives an empty list). Admin and central ops pass ``team_id``.

    Args:
        date_from / date_to: inclusive work dates, at most 366 days apart.
        include_cancelled: also list cancelled installations (hidden by default).

    Returns:
        ``MyJob`` rows ordered by work date, slot and ref.

    Raises:
        PermissionDenied: no ``installation.read``, a role outside field_engineer / admin /
            central_ops, or a field engineer asking for another team.
        ValidationError: ``date_to`` before ``date_from``, the range too long, or ``team_id``
            missing for admin / central ops.
    """
    require(actor, "installation.read")
    if actor.role not in MY_JOBS_ROLES:
        raise PermissionDenied(f"role '{actor.role}' has no field jobs")
    if actor.role == "field_engineer":
        if team_id is not None and team_id != actor.team_id:
            raise PermissionDenied("field engineers see their own team's jobs only")
        team_id = actor.team_id
        if team_id is None:
            return []
    elif team_id is None:
        raise ValidationError({"team_id": "choose a team"})
    if date_to < date_from:
        raise ValidationError({"date_to": "must not be before the start date"})
    if date_to - date_from > timedelta(days=MAX_RANGE_DAYS):
        raise ValidationError({"date_to": f"at most {MAX_RANGE_DAYS} days after the start date"})
    has_report = exists().where(InstallationReport.installation_id == Installation.id)
    stmt = (
        select(
            Installation.id,
            Installation.ref,
            Installation.status,
            InstallationAssignment.work_date,
            InstallationAssignment.time_slot,
            InstallationAssignment.role,
            Lead.customer_name,
            Lead.phone,
            Lead.address,
            Lead.city,
            Lead.pincode,
            Lead.ref.label("lead_ref"),
            has_report.label("has_report"),
        )
        .join(Installation, Installation.id == InstallationAssignment.installation_id)
        .join(Lead, Lead.id == Installation.lead_id)
        .where(
            InstallationAssignment.team_id == team_id,
            InstallationAssignment.released_at.is_(None),
            InstallationAssignment.work_date >= date_from,
            InstallationAssignment.work_date <= date_to,
        )
        .order_by(
            InstallationAssignment.work_date, InstallationAssignment.time_slot, Installation.ref
        )
    )
    if not include_cancelled:
        stmt = stmt.where(Installation.status != "cancelled")
    return [
        MyJob(
            installation_id=r.id,
            ref=r.ref,
            status=r.status,
            work_date=r.work_date,
            time_slot=r.time_slot,
            assignment_role=r.role,
            customer_name=r.customer_name,
            phone=r.phone,
            address=r.address,
            city=r.city,
            pincode=r.pincode,
            lead_ref=r.lead_ref,
            has_report=bool(r.has_report),
        )
        for r in session.execute(stmt).all()
    ]
