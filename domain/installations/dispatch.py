"""Dispatch board reads: teams x days of one week, and the open jobs nobody is assigned to.

Two queries whatever the size: (1) teams LEFT JOIN their active assignments of the week (with
installation, customer, area); (2) open installations without an active assignment.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from domain.accounts.models import FieldTeam
from domain.actor import Actor
from domain.errors import ValidationError
from domain.installations.models import Installation, InstallationAssignment
from domain.installations.scheduling import BOOKABLE_STATUSES
from domain.leads.models import Lead
from domain.permissions import require

JOB_COLUMNS = [
    "assignment_id",
    "team_id",
    "team_code",
    "installation_id",
    "installation_ref",
    "status",
    "role",
    "work_date",
    "time_slot",
    "customer_name",
    "area",
    "start",
    "end",
]
UNASSIGNED_COLUMNS = [
    "installation_id",
    "installation_ref",
    "status",
    "scheduled_date",
    "time_slot",
    "customer_name",
    "area",
    "charger_type",
]


@dataclass(frozen=True)
class BoardTeam:
    """A row of the board."""

    id: uuid.UUID
    code: str
    name: str


@dataclass(frozen=True)
class BoardJob:
    """An active assignment on the board (``area`` = city and pincode)."""

    assignment_id: uuid.UUID
    team_id: uuid.UUID
    team_code: str
    installation_id: uuid.UUID
    installation_ref: str
    status: str
    role: str
    work_date: date
    time_slot: str
    customer_name: str
    area: str


@dataclass(frozen=True)
class UnassignedJob:
    """An open installation with no active team (unscheduled, or scheduled in the week)."""

    installation_id: uuid.UUID
    installation_ref: str
    status: str
    scheduled_date: date | None
    time_slot: str | None
    customer_name: str
    area: str
    charger_type: str | None


@dataclass(frozen=True)
class DispatchBoard:
    """One week (Monday ``week_start`` .. Sunday) of one zone (or all zones)."""

    week_start: date
    zone_id: uuid.UUID | None
    days: tuple[date, ...]
    teams: tuple[BoardTeam, ...]
    jobs: tuple[BoardJob, ...]
    unassigned: tuple[UnassignedJob, ...]

    def jobs_frame(self) -> pd.DataFrame:
        """Jobs as a DataFrame with naive local ``start``/``end`` datetimes of the slot."""
        rows = []
        for j in self.jobs:
            start, end = slot_bounds(j.work_date, j.time_slot)
            rows.append({**j.__dict__, "start": start, "end": end})
        return pd.DataFrame(rows, columns=JOB_COLUMNS)

    def unassigned_frame(self) -> pd.DataFrame:
        """Unassigned open jobs as a DataFrame (``UNASSIGNED_COLUMNS``)."""
        return pd.DataFrame(
            [
                {
                    "installation_id": u.installation_id,
                    "installation_ref": u.installation_ref,
                    "status": u.status,
                    "scheduled_date": u.scheduled_date,
                    "time_slot": u.time_slot,
                    "customer_name": u.customer_name,
                    "area": u.area,
                    "charger_type": u.charger_type,
                }
                for u in self.unassigned
            ],
            columns=UNASSIGNED_COLUMNS,
        )


def slot_bounds(day: date, slot: str) -> tuple[datetime, datetime]:
    """Naive local start/end of a slot label ``"HH-HH"`` or ``"HH:MM-HH:MM"`` on ``day``.

    Raises:
        ValidationError: the slot label cannot be read as a time range.
    """

    def parse(part: str) -> timedelta:
        hh, _, mm = part.strip().partition(":")
        return timedelta(hours=int(hh), minutes=int(mm or 0))

    try:
        a, b = slot.split("-", 1)
        start, end = parse(a), parse(b)
    except ValueError as exc:
        raise ValidationError({"time_slot": f"'{slot}' is not a HH-HH range"}) from exc
    base = datetime.combine(day, datetime.min.time())
    return base + start, base + end


def board(
    session: Session, actor: Actor, *, week_start: date, zone_id: uuid.UUID | None = None
) -> DispatchBoard:
    """The dispatch board of the week starting Monday ``week_start``.

    Teams are the active teams of ``zone_id`` (all zones when None); jobs are their active
    assignments dated in the week; unassigned are open installations (``BOOKABLE_STATUSES``) of
    customers in the zone with no active assignment, unscheduled or scheduled in the week. An
    oem_viewer sees only its own OEM's jobs.

    Raises:
        PermissionDenied: role may not read installations.
        ValidationError: ``week_start`` is not a Monday.
    """
    require(actor, "installation.read")
    if week_start.weekday() != 0:
        raise ValidationError({"week_start": "the week starts on a Monday"})
    week_end = week_start + timedelta(days=6)
    viewer_oem = actor.oem_id if actor.role == "oem_viewer" else None

    job_filters = [
        InstallationAssignment.released_at.is_(None),
        InstallationAssignment.work_date >= week_start,
        InstallationAssignment.work_date <= week_end,
    ]
    if viewer_oem is not None:
        job_filters.append(Lead.oem_id == viewer_oem)
    jobs_sq = (
        select(
            InstallationAssignment.id.label("assignment_id"),
            InstallationAssignment.team_id,
            InstallationAssignment.installation_id,
            Installation.ref,
            Installation.status,
            InstallationAssignment.role,
            InstallationAssignment.work_date,
            InstallationAssignment.time_slot,
            Lead.customer_name,
            Lead.city,
            Lead.pincode,
        )
        .join(Installation, Installation.id == InstallationAssignment.installation_id)
        .join(Lead, Lead.id == Installation.lead_id)
        .where(*job_filters)
        .subquery()
    )
    stmt = (
        select(FieldTeam.id, FieldTeam.code, FieldTeam.name, jobs_sq)
        .outerjoin(jobs_sq, jobs_sq.c.team_id == FieldTeam.id)
        .where(FieldTeam.active.is_(True))
        .order_by(FieldTeam.code, jobs_sq.c.work_date, jobs_sq.c.time_slot)
    )
    if zone_id is not None:
        stmt = stmt.where(FieldTeam.zone_id == zone_id)
    teams: dict[uuid.UUID, BoardTeam] = {}
    jobs: list[BoardJob] = []
    for r in session.execute(stmt).mappings():
        teams.setdefault(r["id"], BoardTeam(id=r["id"], code=r["code"], name=r["name"]))
        if r["assignment_id"] is not None:
            jobs.append(
                BoardJob(
                    assignment_id=r["assignment_id"],
                    team_id=r["id"],
                    team_code=r["code"],
                    installation_id=r["installation_id"],
                    installation_ref=r["ref"],
                    status=r["status"],
                    role=r["role"],
                    work_date=r["work_date"],
                    time_slot=r["time_slot"],
                    customer_name=r["customer_name"],
                    area=f"{r['city']} {r['pincode']}",
                )
            )

    has_active = exists().where(
        and_(
            InstallationAssignment.installation_id == Installation.id,
            InstallationAssignment.released_at.is_(None),
        )
    )
    ustmt = (
        select(
            Installation.id,
            Installation.ref,
            Installation.status,
            Installation.scheduled_date,
            Installation.time_slot,
            Lead.customer_name,
            Lead.city,
            Lead.pincode,
            Lead.requested_charger_type,
        )
        .join(Lead, Lead.id == Installation.lead_id)
        .where(
            Installation.status.in_(sorted(BOOKABLE_STATUSES)),
            ~has_active,
            or_(
                Installation.scheduled_date.is_(None),
                and_(
                    Installation.scheduled_date >= week_start,
                    Installation.scheduled_date <= week_end,
                ),
            ),
        )
        .order_by(
            Installation.scheduled_date.is_(None), Installation.scheduled_date, Installation.ref
        )
    )
    if zone_id is not None:
        ustmt = ustmt.where(Lead.zone_id == zone_id)
    if viewer_oem is not None:
        ustmt = ustmt.where(Lead.oem_id == viewer_oem)
    unassigned = tuple(
        UnassignedJob(
            installation_id=i,
            installation_ref=ref,
            status=status,
            scheduled_date=d,
            time_slot=slot,
            customer_name=name,
            area=f"{city} {pin}",
            charger_type=ctype,
        )
        for i, ref, status, d, slot, name, city, pin, ctype in session.execute(ustmt).all()
    )
    return DispatchBoard(
        week_start=week_start,
        zone_id=zone_id,
        days=tuple(week_start + timedelta(days=i) for i in range(7)),
        teams=tuple(teams.values()),
        jobs=tuple(jobs),
        unassigned=unassigned,
    )


def board_naive(
    session: Session, actor: Actor, *, week_start: date, zone_id: uuid.UUID | None = None
) -> DispatchBoard:
    """BENCHMARK BASELINE ONLY (not for pages): ``board`` built with one query per team and
    per assignment (lazy ORM navigation), the way a first draft would."""
    require(actor, "installation.read")
    week_end = week_start + timedelta(days=6)
    tstmt = select(FieldTeam).where(FieldTeam.active.is_(True)).order_by(FieldTeam.code)
    if zone_id is not None:
        tstmt = tstmt.where(FieldTeam.zone_id == zone_id)
    teams: list[BoardTeam] = []
    jobs: list[BoardJob] = []
    for team in session.scalars(tstmt).all():
        teams.append(BoardTeam(id=team.id, code=team.code, name=team.name))
        assignments = session.scalars(
            select(InstallationAssignment)
            .where(
                InstallationAssignment.team_id == team.id,
                InstallationAssignment.released_at.is_(None),
                InstallationAssignment.work_date >= week_start,
                InstallationAssignment.work_date <= week_end,
            )
            .order_by(InstallationAssignment.work_date, InstallationAssignment.time_slot)
        ).all()
        for a in assignments:
            inst = session.get(Installation, a.installation_id)
            lead = session.get(Lead, inst.lead_id) if inst else None
            if inst is None or lead is None:
                continue
            jobs.append(
                BoardJob(
                    assignment_id=a.id,
                    team_id=team.id,
                    team_code=team.code,
                    installation_id=inst.id,
                    installation_ref=inst.ref,
                    status=inst.status,
                    role=a.role,
                    work_date=a.work_date,
                    time_slot=a.time_slot,
                    customer_name=lead.customer_name,
                    area=f"{lead.city} {lead.pincode}",
                )
            )
    unassigned: list[UnassignedJob] = []
    istmt = (
        select(Installation, Lead)
        .join(Lead, Lead.id == Installation.lead_id)
        .where(Installation.status.in_(sorted(BOOKABLE_STATUSES)))
        .order_by(Installation.ref)
    )
    if zone_id is not None:
        istmt = istmt.where(Lead.zone_id == zone_id)
    for inst, lead in session.execute(istmt).all():
        d = inst.scheduled_date
        if d is not None and not (week_start <= d <= week_end):
            continue
        if session.scalars(
            select(InstallationAssignment.id).where(
                InstallationAssignment.installation_id == inst.id,
                InstallationAssignment.released_at.is_(None),
            )
        ).first():
            continue
        unassigned.append(
            UnassignedJob(
                installation_id=inst.id,
                installation_ref=inst.ref,
                status=inst.status,
                scheduled_date=d,
                time_slot=inst.time_slot,
                customer_name=lead.customer_name,
                area=f"{lead.city} {lead.pincode}",
                charger_type=lead.requested_charger_type,
            )
        )
    unassigned.sort(
        key=lambda u: (u.scheduled_date is None, u.scheduled_date or week_start, u.installation_ref)
    )
    return DispatchBoard(
        week_start=week_start,
        zone_id=zone_id,
        days=tuple(week_start + timedelta(days=i) for i in range(7)),
        teams=tuple(teams),
        jobs=tuple(jobs),
        unassigned=tuple(unassigned),
    )
