"""Dispatch board reads: teams x days of one week, and the open jobs nobody is assigned to.

Three queries whatever the size: (1) teams (with their zone) LEFT JOIN their active assignments
of the week (with installation, customer, area); (2) the teams' unavailability overlapping the
week; (3) open installations without an active assignment.

Pure helpers turn a ``DispatchBoard`` into what the page draws: bars on a week axis where each
day is split into the configured time slots (``timeline_frame``, ``blocked_frame``,
``day_ticks``), a teams x day-slot text grid (``grid_frame``) and ``STATUS_COLOURS``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from domain.accounts.models import FieldTeam, TeamUnavailability, Zone
from domain.actor import Actor
from domain.calendar import is_business_day
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
TIMELINE_COLUMNS = [
    "team",
    "x",
    "status",
    "installation_ref",
    "customer_name",
    "area",
    "day",
    "time_slot",
    "role",
]
BLOCKED_COLUMNS = ["team", "x0", "x1", "kind", "text"]

STATUS_COLOURS: dict[str, str] = {
    "planned": "#4c78a8",
    "material_pending": "#f58518",
    "material_ready": "#eeca3b",
    "confirmed": "#54a24b",
    "in_progress": "#b279a2",
    "completed": "#72b7b2",
    "report_submitted": "#9d755d",
    "closed": "#79706e",
    "rescheduled": "#ff9da6",
    "cancelled": "#e45756",
}
"""Bar colour of each installation status on the board (every status has one)."""
UNAVAILABLE_COLOUR = "#9e9e9e"
"""Grey of a team's unavailable slots."""
OFF_DAY_COLOUR = "rgba(120, 120, 120, 0.12)"
"""Light shade of Sundays and the zone's public holidays."""


@dataclass(frozen=True)
class BoardTeam:
    """A row of the board; ``off_days`` are the week's non-working days of its zone
    (Sundays and the zone state's public holidays)."""

    id: uuid.UUID
    code: str
    name: str
    zone_code: str = ""
    off_days: tuple[date, ...] = ()

    @property
    def label(self) -> str:
        """Row label, e.g. ``"BLR-T1 (BLR)"``."""
        return f"{self.code} ({self.zone_code})" if self.zone_code else self.code


@dataclass(frozen=True)
class BoardUnavailability:
    """A period (inclusive dates) in which a board team cannot work."""

    team_id: uuid.UUID
    from_date: date
    to_date: date
    reason: str


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
    unavailable: tuple[BoardUnavailability, ...] = ()

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

    # ------------------------------------------------------------ what the page draws
    def day_ticks(self, slots: tuple[str, ...] | list[str]) -> list[tuple[float, str]]:
        """``(x, label)`` at the middle of each day on the week axis (``len(slots)`` units a
        day), e.g. ``(1.5, "Mon 23 Nov")``."""
        n = len(slots)
        return [(i * n + n / 2, f"{d:%a %d %b}") for i, d in enumerate(self.days)]

    def slot_x(self, day: date, slot: str, slots: tuple[str, ...] | list[str]) -> int:
        """Left edge of ``day``/``slot`` on the week axis (one unit per slot). A slot label
        that is not configured goes to the last configured slot starting at or before it."""
        slots = list(slots)
        if slot in slots:
            j = slots.index(slot)
        else:
            start = slot_bounds(day, slot)[0]
            starts = [slot_bounds(day, s)[0] for s in slots]
            j = max((k for k, st in enumerate(starts) if st <= start), default=0)
        return (day - self.week_start).days * len(slots) + j

    def timeline_frame(self, slots: tuple[str, ...] | list[str]) -> pd.DataFrame:
        """One row per job: ``team`` (row label), ``x`` (slot's left edge; the bar is one unit
        wide), status and hover fields (``TIMELINE_COLUMNS``), in team then time order."""
        label = {t.id: t.label for t in self.teams}
        rows = [
            {
                "team": label.get(j.team_id, j.team_code),
                "x": self.slot_x(j.work_date, j.time_slot, slots),
                "status": j.status,
                "installation_ref": j.installation_ref,
                "customer_name": j.customer_name,
                "area": j.area,
                "day": f"{j.work_date:%a %d %b}",
                "time_slot": j.time_slot,
                "role": j.role,
            }
            for j in self.jobs
        ]
        return pd.DataFrame(rows, columns=TIMELINE_COLUMNS)

    def blocked_frame(self, slots: tuple[str, ...] | list[str]) -> pd.DataFrame:
        """Whole days a team cannot work, as ``[x0, x1)`` spans on the week axis: ``kind``
        ``unavailable`` (``text`` = reason) or ``off`` (Sunday / public holiday). A day that is
        both is listed as unavailable only."""
        n = len(slots)
        rows: list[dict] = []
        for t in self.teams:
            away: dict[date, str] = {}
            for u in self.unavailable:
                if u.team_id == t.id:
                    for d in self.days:
                        if u.from_date <= d <= u.to_date:
                            away.setdefault(d, u.reason)
            for i, d in enumerate(self.days):
                if d in away:
                    kind, text = "unavailable", away[d]
                elif d in t.off_days:
                    kind, text = "off", "Sunday" if d.weekday() == 6 else "public holiday"
                else:
                    continue
                rows.append(
                    {"team": t.label, "x0": i * n, "x1": (i + 1) * n, "kind": kind, "text": text}
                )
        return pd.DataFrame(rows, columns=BLOCKED_COLUMNS)

    def grid_frame(self, slots: tuple[str, ...] | list[str]) -> pd.DataFrame:
        """Text grid: one row per team (``"Team (zone)"``), one column per day and slot
        (``"Mon 23 Nov 09-12"``); a cell holds the job refs (``" (backup)"`` after an
        emergency backup), else ``"unavailable"`` / ``"off"`` for blocked days, else ``""``."""
        slots = list(slots)
        cols = [f"{d:%a %d %b} {s}" for d in self.days for s in slots]
        cells: dict[tuple[str, int], list[str]] = {}
        for row in self.timeline_frame(slots).itertuples():
            ref = row.installation_ref + (" (backup)" if row.role == "emergency_backup" else "")
            cells.setdefault((row.team, int(row.x)), []).append(ref)
        blocked = {
            (b.team, x): b.kind
            for b in self.blocked_frame(slots).itertuples()
            for x in range(int(b.x0), int(b.x1))
        }
        data = []
        for t in self.teams:
            line = {"Team (zone)": t.label}
            for x, col in enumerate(cols):
                refs = cells.get((t.label, x))
                line[col] = ", ".join(refs) if refs else blocked.get((t.label, x), "")
            data.append(line)
        return pd.DataFrame(data, columns=["Team (zone)", *cols])


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

    Teams are the active teams of ``zone_id`` (all zones when None), with their zone code and
    the week's non-working days of their zone; jobs are their active assignments dated in the
    week; ``unavailable`` their unavailability periods overlapping the week; unassigned are
    open installations (``BOOKABLE_STATUSES``) of
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
        select(
            FieldTeam.id,
            FieldTeam.code,
            FieldTeam.name,
            Zone.code.label("zone_code"),
            Zone.holiday_subdiv,
            jobs_sq,
        )
        .join(Zone, Zone.id == FieldTeam.zone_id)
        .outerjoin(jobs_sq, jobs_sq.c.team_id == FieldTeam.id)
        .where(FieldTeam.active.is_(True))
        .order_by(FieldTeam.code, jobs_sq.c.work_date, jobs_sq.c.time_slot)
    )
    if zone_id is not None:
        stmt = stmt.where(FieldTeam.zone_id == zone_id)
    days = tuple(week_start + timedelta(days=i) for i in range(7))
    teams: dict[uuid.UUID, BoardTeam] = {}
    jobs: list[BoardJob] = []
    for r in session.execute(stmt).mappings():
        if r["id"] not in teams:
            teams[r["id"]] = _board_team(
                r["id"], r["code"], r["name"], r["zone_code"], r["holiday_subdiv"], days
            )
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

    unavailable: tuple[BoardUnavailability, ...] = ()
    if teams:
        off = session.execute(
            select(
                TeamUnavailability.team_id,
                TeamUnavailability.from_date,
                TeamUnavailability.to_date,
                TeamUnavailability.reason,
            )
            .join(FieldTeam, FieldTeam.id == TeamUnavailability.team_id)
            .where(
                FieldTeam.active.is_(True),
                TeamUnavailability.from_date <= week_end,
                TeamUnavailability.to_date >= week_start,
                *([FieldTeam.zone_id == zone_id] if zone_id is not None else []),
            )
            .order_by(FieldTeam.code, TeamUnavailability.from_date, TeamUnavailability.to_date)
        ).all()
        unavailable = tuple(BoardUnavailability(*row) for row in off)

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
        days=days,
        teams=tuple(teams.values()),
        jobs=tuple(jobs),
        unassigned=unassigned,
        unavailable=unavailable,
    )


def _board_team(
    team_id: uuid.UUID,
    code: str,
    name: str,
    zone_code: str,
    subdiv: str | None,
    days: tuple[date, ...],
) -> BoardTeam:
    return BoardTeam(
        id=team_id,
        code=code,
        name=name,
        zone_code=zone_code,
        off_days=tuple(d for d in days if not is_business_day(d, subdiv)),
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
    days = tuple(week_start + timedelta(days=i) for i in range(7))
    teams: list[BoardTeam] = []
    jobs: list[BoardJob] = []
    unavailable: list[BoardUnavailability] = []
    for team in session.scalars(tstmt).all():
        zone = session.get(Zone, team.zone_id)
        assert zone is not None
        teams.append(
            _board_team(team.id, team.code, team.name, zone.code, zone.holiday_subdiv, days)
        )
        for u in session.scalars(
            select(TeamUnavailability)
            .where(
                TeamUnavailability.team_id == team.id,
                TeamUnavailability.from_date <= week_end,
                TeamUnavailability.to_date >= week_start,
            )
            .order_by(TeamUnavailability.from_date, TeamUnavailability.to_date)
        ).all():
            unavailable.append(BoardUnavailability(u.team_id, u.from_date, u.to_date, u.reason))
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
        days=days,
        teams=tuple(teams),
        jobs=tuple(jobs),
        unassigned=tuple(unassigned),
        unavailable=tuple(unavailable),
    )
