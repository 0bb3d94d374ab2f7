"""Installation scheduling: book, move and unassign field teams; team suggestions; emergencies.

Seed ``001_…`` ("Schedule installation date and time slot", "Assign field teams to
installations", "emergency — Triggered when assigned team is unavailable") and DESIGN.md
("A team has at most one active job per date and slot").

Rules:

* A booking is an ``installation_assignment`` row (team, date, slot, role). An installation has
  at most one *active* assignment (``released_at IS NULL``): booking or moving it releases the
  previous one (``reason`` ``"moved"``), an emergency reassignment releases it with the
  planner's reason.
* The database enforces one active job per team/date/slot, across installations, surveys and
  service visits: every active assignment holds a row of ``team_slot_booking``
  (``domain.slots``, unique team/date/slot), claimed when it is inserted and deleted when it is
  released (the partial unique index ``uq_installation_assignment_team_slot_active`` still
  backs installations alone). The insert runs in a SAVEPOINT and an ``IntegrityError`` becomes
  ``Conflict`` naming the job in the slot, so two planners booking the same slot at once cannot
  both succeed, whatever each of them books.
* This module never changes ``installation.status`` (the lifecycle owns it); it only manages
  assignments and ``installation.scheduled_date`` / ``time_slot``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.types import utcnow
from domain import audit
from domain.accounts.models import FieldTeam, Oem, TeamUnavailability, Zone
from domain.actor import Actor
from domain.calendar import add_business_days, local_date
from domain.errors import Conflict, NotFound, ValidationError
from domain.installations.models import ASSIGNMENT_ROLES, Installation, InstallationAssignment
from domain.leads.models import Lead
from domain.permissions import require
from domain.procurement.models import Material
from domain.reporting.months import require_installation_month_open
from domain.scheduling import team_unavailability_reason, validate_slot
from domain.slots import (
    TeamSlotBooking,
    claim_team_slot,
    release_team_slot,
    slot_conflict_message,
)
from domain.surveys.models import SurveyReport

# Installation states in which a team may be booked, moved or unassigned (seed 001: a job that
# is in progress, done, closed or cancelled is not re-planned).
BOOKABLE_STATUSES = frozenset(
    {"planned", "material_pending", "material_ready", "confirmed", "rescheduled"}
)

ASSIGN_PERMISSION = "installation.assign"
UNAVAILABLE_PERMISSION = "team.mark_unavailable"
READ_PERMISSION = "installation.read"


# --------------------------------------------------------------------------- DTOs


@dataclass(frozen=True)
class AssignmentDTO:
    """One team on one installation for a date and slot (``released_at`` None = active)."""

    id: uuid.UUID
    installation_id: uuid.UUID
    installation_ref: str
    team_id: uuid.UUID
    team_code: str
    role: str
    work_date: date
    time_slot: str
    assigned_by_id: uuid.UUID | None
    released_at: Any
    reason: str | None


@dataclass(frozen=True)
class TeamSuggestion:
    """A feasible team (active, available that day, free in the slot) for a job.

    Attributes:
        same_zone: the team's zone is the lead's zone (``book`` refuses other zones unless
            ``allow_mismatch``).
        skill_match: the team installs the job's charger type; None when the type is unknown.
        week_load: the team's active assignments in the ISO week (Mon-Sun) of the work date.
        sla_deadline / sla_days_left: the installation SLA deadline (lead received local date +
            ``oem.sla_install_days`` business days, zone holidays) and calendar days from the work
            date to it (negative = the booking would breach the SLA). A property of the job and
            date, identical for every team of one call.
    """

    team_id: uuid.UUID
    team_code: str
    team_name: str
    zone_id: uuid.UUID
    same_zone: bool
    skill_match: bool | None
    week_load: int
    sla_deadline: date
    sla_days_left: int
    is_standby: bool = False

    @property
    def eligible(self) -> bool:
        """``book`` accepts this team without ``allow_mismatch`` (same zone, skill not missing)."""
        return self.same_zone and self.skill_match is not False

    @property
    def label(self) -> str:
        """Human label for select boxes, e.g. ``BLR-T1 · load 3 · SLA +2 d``."""
        flags = []
        if not self.same_zone:
            flags.append("other zone")
        if self.skill_match is False:
            flags.append("no skill")
        if self.is_standby:
            flags.insert(0, "standby")
        extra = f" ({', '.join(flags)})" if flags else ""
        return f"{self.team_code} · load {self.week_load} · SLA {self.sla_days_left:+d} d{extra}"


@dataclass(frozen=True)
class AffectedJob:
    """An active assignment of a team that was just marked unavailable, with backup teams."""

    assignment: AssignmentDTO
    installation_status: str
    customer_name: str
    suggestions: tuple[TeamSuggestion, ...]


@dataclass(frozen=True)
class _JobContext:
    installation: Installation
    zone_id: uuid.UUID
    holiday_subdiv: str | None
    received_at: Any
    sla_install_days: int
    customer_name: str
    charger_type: str | None


# --------------------------------------------------------------------------- helpers


def charger_type_for_power(power_kw: Decimal | float | None) -> str | None:
    """``Decimal("7.2")`` -> ``"7.2kW AC"``, ``11`` -> ``"11kW AC"`` (``CHARGER_TYPES`` naming)."""
    if power_kw is None:
        return None
    return f"{float(power_kw):g}kW AC"


def _job_context(
    session: Session, installation_id: uuid.UUID, *, lock: bool = False
) -> _JobContext:
    """The installation with what scheduling needs (zone, SLA inputs, charger type): one query."""
    stmt = (
        select(
            Installation,
            Lead.zone_id,
            Zone.holiday_subdiv,
            Lead.received_at,
            Oem.sla_install_days,
            Lead.customer_name,
            Lead.requested_charger_type,
            Material.power_kw,
        )
        .join(Lead, Lead.id == Installation.lead_id)
        .join(Zone, Zone.id == Lead.zone_id)
        .join(Oem, Oem.id == Lead.oem_id)
        .outerjoin(SurveyReport, SurveyReport.survey_id == Installation.survey_id)
        .outerjoin(Material, Material.id == SurveyReport.recommended_charger_id)
        .where(Installation.id == installation_id)
    )
    if lock:
        stmt = stmt.with_for_update(of=Installation)
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound("installation not found")
    inst, zone_id, subdiv, received_at, sla_days, customer, requested, power = row
    return _JobContext(
        installation=inst,
        zone_id=zone_id,
        holiday_subdiv=subdiv,
        received_at=received_at,
        sla_install_days=sla_days,
        customer_name=customer,
        charger_type=requested or charger_type_for_power(power),
    )


def sla_deadline(ctx_received_at: Any, sla_install_days: int, subdiv: str | None) -> date:
    """Installation SLA deadline: lead received (local date) + ``sla_install_days`` business days.

    Business days as in ``domain.calendar`` (Mon-Sat minus the zone state's public holidays).
    """
    return add_business_days(local_date(ctx_received_at), sla_install_days, subdiv)


def _iso_week(day: date) -> tuple[date, date]:
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def _assignment_dto(a: InstallationAssignment, inst_ref: str, team_code: str) -> AssignmentDTO:
    return AssignmentDTO(
        id=a.id,
        installation_id=a.installation_id,
        installation_ref=inst_ref,
        team_id=a.team_id,
        team_code=team_code,
        role=a.role,
        work_date=a.work_date,
        time_slot=a.time_slot,
        assigned_by_id=a.assigned_by_id,
        released_at=a.released_at,
        reason=a.reason,
    )


def _snapshot(a: InstallationAssignment | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {
        "assignment_id": a.id,
        "team_id": a.team_id,
        "role": a.role,
        "work_date": a.work_date,
        "time_slot": a.time_slot,
        "released_at": a.released_at,
        "reason": a.reason,
    }


def _active_assignments(
    session: Session, installation_id: uuid.UUID
) -> list[InstallationAssignment]:
    return list(
        session.scalars(
            select(InstallationAssignment).where(
                InstallationAssignment.installation_id == installation_id,
                InstallationAssignment.released_at.is_(None),
            )
        )
    )


def _require_not_past(work_date: date, field: str = "work_date") -> None:
    today = local_date(utcnow())
    if work_date < today:
        raise ValidationError({field: f"{work_date.isoformat()} is in the past"})


def _require_bookable(inst: Installation) -> None:
    if inst.status not in BOOKABLE_STATUSES:
        raise ValidationError(
            {
                "installation_id": f"installation {inst.ref} is {inst.status}; only "
                f"{', '.join(sorted(BOOKABLE_STATUSES))} installations can be scheduled"
            }
        )


def _check_team(
    session: Session,
    ctx: _JobContext,
    team_id: uuid.UUID,
    work_date: date,
    *,
    allow_mismatch: bool,
) -> FieldTeam:
    """Team exists, is active and available that day; same zone and skilled unless overridden."""
    team = session.get(FieldTeam, team_id)
    if team is None:
        raise ValidationError({"team_id": "no such field team"})
    reason = team_unavailability_reason(session, team_id, work_date)
    if reason:
        raise ValidationError({"team_id": reason})
    if not allow_mismatch:
        if team.zone_id != ctx.zone_id:
            raise ValidationError(
                {"team_id": f"team {team.code} works in another zone than the customer's"}
            )
        if ctx.charger_type and ctx.charger_type not in (team.skills or []):
            raise ValidationError(
                {"team_id": f"team {team.code} is not skilled for {ctx.charger_type} chargers"}
            )
    return team


def _insert_assignment(
    session: Session,
    actor: Actor,
    *,
    ctx: _JobContext,
    team: FieldTeam,
    work_date: date,
    time_slot: str,
    role: str,
    release_reason: str,
    reason: str | None,
) -> tuple[InstallationAssignment, list[InstallationAssignment]]:
    """Release the installation's active assignment(s) and their team slots, insert the new
    one and claim its team slot, in a SAVEPOINT.

    Raises:
        Conflict: the team already has a job on that date and slot (unique indexes); the
            message names it.
    """
    inst = ctx.installation
    now = utcnow()
    released = _active_assignments(session, inst.id)
    new = InstallationAssignment(
        installation_id=inst.id,
        team_id=team.id,
        role=role,
        work_date=work_date,
        time_slot=time_slot,
        assigned_by_id=actor.user_id,
        assigned_at=now,
        reason=reason,
    )
    try:
        with session.begin_nested():
            for old in released:
                old.released_at = now
                old.reason = release_reason
                release_team_slot(session, assignment_id=old.id)
            session.flush()
            session.add(new)
            session.flush()
            claim_team_slot(
                session, team_id=team.id, day=work_date, slot=time_slot, assignment_id=new.id
            )
    except IntegrityError as exc:
        raise Conflict(
            slot_conflict_message(session, team_id=team.id, day=work_date, slot=time_slot)
        ) from exc
    return new, released


# --------------------------------------------------------------------------- commands


def book(
    session: Session,
    actor: Actor,
    *,
    installation_id: uuid.UUID,
    work_date: date,
    time_slot: str,
    team_id: uuid.UUID,
    role: str = "primary",
    allow_mismatch: bool = False,
    reason: str | None = None,
) -> AssignmentDTO:
    """Book ``team_id`` on the installation for ``work_date`` / ``time_slot``.

    Any active assignment of the installation is released (``reason`` ``"moved"``). A primary
    booking also sets ``installation.scheduled_date`` / ``time_slot`` (the status is left to the
    lifecycle). Audited as ``installation.assign``.

    Args:
        work_date: local calendar date of the job.
        time_slot: one of ``domain.scheduling.time_slots()``.
        role: ``primary`` or ``emergency_backup``.
        allow_mismatch: planner override: accept a team of another zone or without the job's
            charger skill (the override is recorded in the audit event).
        reason: optional note kept on the new assignment.

    Raises:
        PermissionDenied: role may not assign teams (only admin and central_ops).
        NotFound: no such installation.
        ValidationError: bad slot/role, date before today (local), installation not open
            (closed, cancelled, completed, in progress...), team unknown, inactive, unavailable
            that day, of another zone or not skilled for the charger type (lead's requested
            type, else the survey's recommended charger power).
        Conflict: the team already has a job on that date and slot (an installation, a survey
            or a service visit, named in the message).
    """
    require(actor, ASSIGN_PERMISSION)
    validate_slot(time_slot)
    _require_not_past(work_date)
    if role not in ASSIGNMENT_ROLES:
        raise ValidationError({"role": f"role must be one of {', '.join(ASSIGNMENT_ROLES)}"})
    ctx = _job_context(session, installation_id, lock=True)
    inst = ctx.installation
    require_installation_month_open(session, inst)
    _require_bookable(inst)
    team = _check_team(session, ctx, team_id, work_date, allow_mismatch=allow_mismatch)
    before = {
        "scheduled_date": inst.scheduled_date,
        "time_slot": inst.time_slot,
        "assignments": [_snapshot(a) for a in _active_assignments(session, inst.id)],
    }
    new, released = _insert_assignment(
        session,
        actor,
        ctx=ctx,
        team=team,
        work_date=work_date,
        time_slot=time_slot,
        role=role,
        release_reason="moved",
        reason=reason,
    )
    if role == "primary":
        inst.scheduled_date = work_date
        inst.time_slot = time_slot
    session.flush()
    audit.record(
        session,
        actor,
        "installation.assign",
        entity_type="installation",
        entity_id=inst.id,
        before=before,
        after={
            "scheduled_date": inst.scheduled_date,
            "time_slot": inst.time_slot,
            "assignment": _snapshot(new),
            "released": [a.id for a in released],
            "allow_mismatch": allow_mismatch,
        },
    )
    session.flush()
    return _assignment_dto(new, inst.ref, team.code)


def move(
    session: Session,
    actor: Actor,
    *,
    installation_id: uuid.UUID,
    work_date: date,
    time_slot: str,
    team_id: uuid.UUID | None = None,
    allow_mismatch: bool = False,
) -> AssignmentDTO:
    """Move the installation's active job to another date/slot and/or team.

    ``team_id`` None keeps the current team. Same checks and errors as ``book``; additionally
    ValidationError when the installation has no active assignment to move, or when nothing
    would change.
    """
    require(actor, ASSIGN_PERMISSION)
    current = _active_assignments(session, installation_id)
    if not current:
        if session.get(Installation, installation_id) is None:
            raise NotFound("installation not found")
        raise ValidationError({"installation_id": "the installation has no team to move; book it"})
    cur = current[0]
    target_team = team_id or cur.team_id
    if (target_team, work_date, time_slot) == (cur.team_id, cur.work_date, cur.time_slot):
        raise ValidationError({"work_date": "the job is already booked there"})
    return book(
        session,
        actor,
        installation_id=installation_id,
        work_date=work_date,
        time_slot=time_slot,
        team_id=target_team,
        role="primary",
        allow_mismatch=allow_mismatch,
    )


def unassign(
    session: Session, actor: Actor, *, installation_id: uuid.UUID, reason: str
) -> AssignmentDTO:
    """Release the installation's active assignment (``released_at`` now, ``reason`` kept).

    The customer's appointment (``scheduled_date``/``time_slot``) stays, so the job shows as
    unassigned on the dispatch board for that day.

    Returns:
        The released assignment.

    Raises:
        PermissionDenied, NotFound; ValidationError: empty reason, installation not open, or
        no active assignment.
    """
    require(actor, ASSIGN_PERMISSION)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "give a reason for unassigning the team"})
    inst = session.get(Installation, installation_id)
    if inst is None:
        raise NotFound("installation not found")
    require_installation_month_open(session, inst)
    _require_bookable(inst)
    current = _active_assignments(session, installation_id)
    if not current:
        raise ValidationError({"installation_id": f"{inst.ref} has no team assigned"})
    before = [_snapshot(a) for a in current]
    now = utcnow()
    for a in current:
        a.released_at = now
        a.reason = reason
        release_team_slot(session, assignment_id=a.id)
    session.flush()
    audit.record(
        session,
        actor,
        "installation.unassign",
        entity_type="installation",
        entity_id=inst.id,
        before={"assignments": before},
        after={"assignments": [_snapshot(a) for a in current]},
    )
    team = session.get(FieldTeam, current[0].team_id)
    return _assignment_dto(current[0], inst.ref, team.code if team else "")


def reassign_emergency(
    session: Session,
    actor: Actor,
    *,
    installation_id: uuid.UUID,
    backup_team_id: uuid.UUID,
    reason: str,
    allow_mismatch: bool = False,
) -> AssignmentDTO:
    """Emergency: hand the job to a backup team on the same date and slot.

    The current assignment is released (``released_at`` now, ``reason`` kept) and the backup is
    booked with role ``emergency_backup`` and the same reason. ``scheduled_date``/``time_slot``
    are unchanged. Audited as ``installation.reassign_emergency``.

    Raises:
        PermissionDenied, NotFound; ValidationError: empty reason, no active assignment, job
        dated before today, backup is the current team, or the backup fails ``book``'s team
        checks; Conflict: the backup team is already busy in that slot.
    """
    require(actor, ASSIGN_PERMISSION)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "give the reason for the emergency reassignment"})
    ctx = _job_context(session, installation_id, lock=True)
    inst = ctx.installation
    require_installation_month_open(session, inst)
    _require_bookable(inst)
    current = _active_assignments(session, inst.id)
    if not current:
        raise ValidationError({"installation_id": f"{inst.ref} has no team assigned"})
    cur = current[0]
    _require_not_past(cur.work_date)
    if cur.team_id == backup_team_id:
        raise ValidationError({"backup_team_id": "the backup must be another team"})
    team = _check_team(session, ctx, backup_team_id, cur.work_date, allow_mismatch=allow_mismatch)
    before = [_snapshot(a) for a in current]
    new, released = _insert_assignment(
        session,
        actor,
        ctx=ctx,
        team=team,
        work_date=cur.work_date,
        time_slot=cur.time_slot,
        role="emergency_backup",
        release_reason=reason,
        reason=reason,
    )
    audit.record(
        session,
        actor,
        "installation.reassign_emergency",
        entity_type="installation",
        entity_id=inst.id,
        before={"assignments": before},
        after={
            "assignment": _snapshot(new),
            "released": [_snapshot(a) for a in released],
            "allow_mismatch": allow_mismatch,
        },
    )
    session.flush()
    return _assignment_dto(new, inst.ref, team.code)


def set_standby_backup(
    session: Session,
    actor: Actor,
    *,
    installation_id: uuid.UUID,
    team_id: uuid.UUID | None,
) -> str:
    """Keep ``team_id`` on standby as the emergency backup of an installation (None clears it).

    The standby team holds no slot; when the primary team drops out it is the first suggested
    backup (``suggest_teams``, ``mark_team_unavailable``) if it is free then.

    Returns:
        The installation's ref.

    Raises:
        PermissionDenied: without ``installation.assign``.
        NotFound: no such installation.
        ValidationError: ``team_id`` unknown, inactive, of another zone, not skilled for the
            job's charger type, or the team already holding the job.
    """
    require(actor, ASSIGN_PERMISSION)
    ctx = _job_context(session, installation_id)
    inst = ctx.installation
    require_installation_month_open(session, inst)
    before = inst.standby_team_id
    if team_id is not None:
        team = session.get(FieldTeam, team_id)
        if team is None or not team.active:
            raise ValidationError({"team_id": "no such active field team"})
        if team.zone_id != ctx.zone_id:
            raise ValidationError(
                {"team_id": f"team {team.code} works in another zone than the customer's"}
            )
        if ctx.charger_type and ctx.charger_type not in (team.skills or []):
            raise ValidationError(
                {"team_id": f"team {team.code} is not skilled for {ctx.charger_type} chargers"}
            )
        holder = active_assignment(session, actor, installation_id=installation_id)
        if holder is not None and holder.team_id == team_id:
            raise ValidationError({"team_id": f"team {team.code} already holds this job"})
    inst.standby_team_id = team_id
    session.flush()
    audit.record(
        session,
        actor,
        "installation.set_standby_backup",
        entity_type="installation",
        entity_id=inst.id,
        before={"standby_team_id": before},
        after={"standby_team_id": team_id},
    )
    return inst.ref


def mark_team_unavailable(
    session: Session,
    actor: Actor,
    *,
    team_id: uuid.UUID,
    from_date: date,
    to_date: date,
    reason: str,
    suggestions_per_job: int = 3,
) -> list[AffectedJob]:
    """Record that a team cannot work ``from_date``..``to_date`` (inclusive; leave, breakdown).

    Adds a ``team_unavailability`` row (audited as ``team.mark_unavailable``); existing
    assignments are NOT released: the planner reassigns each affected job
    (``reassign_emergency``) or reschedules it.

    Returns:
        The team's active assignments in the range (most urgent SLA first, then date and slot),
        each with up to ``suggestions_per_job`` backup teams from ``suggest_teams``.

    Raises:
        PermissionDenied; ValidationError: no such team, dates out of order, empty reason.
    """
    require(actor, UNAVAILABLE_PERMISSION)
    errors: dict[str, str] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = "give a reason (leave, vehicle breakdown...)"
    if to_date < from_date:
        errors["to_date"] = "must be on or after the from date"
    team = session.get(FieldTeam, team_id)
    if team is None:
        errors["team_id"] = "no such field team"
    if errors:
        raise ValidationError(errors)
    assert team is not None
    row = TeamUnavailability(
        team_id=team_id,
        from_date=from_date,
        to_date=to_date,
        reason=reason,
        created_by_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "team.mark_unavailable",
        entity_type="field_team",
        entity_id=team_id,
        after={"from_date": from_date, "to_date": to_date, "reason": reason, "id": row.id},
    )
    session.flush()
    return affected_jobs(
        session,
        actor,
        team_id=team_id,
        from_date=from_date,
        to_date=to_date,
        suggestions_per_job=suggestions_per_job,
    )


def affected_jobs(
    session: Session,
    actor: Actor,
    *,
    team_id: uuid.UUID,
    from_date: date,
    to_date: date,
    suggestions_per_job: int = 3,
) -> list[AffectedJob]:
    """The team's active assignments between the dates (inclusive), with backup suggestions.

    Ordered by SLA days left (most urgent first), then date and slot.

    Raises:
        PermissionDenied: role may not assign teams (a planning tool).
    """
    require(actor, ASSIGN_PERMISSION)
    rows = session.execute(
        select(InstallationAssignment, Installation.ref, Installation.status, FieldTeam.code)
        .join(Installation, Installation.id == InstallationAssignment.installation_id)
        .join(FieldTeam, FieldTeam.id == InstallationAssignment.team_id)
        .where(
            InstallationAssignment.team_id == team_id,
            InstallationAssignment.released_at.is_(None),
            InstallationAssignment.work_date >= from_date,
            InstallationAssignment.work_date <= to_date,
        )
        .order_by(InstallationAssignment.work_date, InstallationAssignment.time_slot)
    ).all()
    out: list[tuple[int, AffectedJob]] = []
    for a, ref, status, code in rows:
        ctx = _job_context(session, a.installation_id)
        suggestions = suggest_teams(
            session,
            actor,
            installation_id=a.installation_id,
            work_date=a.work_date,
            time_slot=a.time_slot,
            limit=suggestions_per_job,
            _ctx=ctx,
        )
        days_left = (
            sla_deadline(ctx.received_at, ctx.sla_install_days, ctx.holiday_subdiv) - a.work_date
        ).days
        job = AffectedJob(
            assignment=_assignment_dto(a, ref, code),
            installation_status=status,
            customer_name=ctx.customer_name,
            suggestions=tuple(suggestions),
        )
        out.append((days_left, job))
    out.sort(key=lambda p: p[0])  # stable: date/slot order kept within equal urgency
    return [job for _, job in out]


# --------------------------------------------------------------------------- suggestions


def suggest_teams(
    session: Session,
    actor: Actor,
    *,
    installation_id: uuid.UUID,
    work_date: date,
    time_slot: str,
    limit: int = 5,
    eligible_only: bool = False,
    _ctx: _JobContext | None = None,
) -> list[TeamSuggestion]:
    """Feasible teams for a job, best first.

    Feasible = active, not unavailable on ``work_date``, no active job in that slot (an
    installation assignment, or any job holding the slot in ``team_slot_booking``: a survey or
    a service visit), not the team already holding this installation. The installation's
    standby backup team, when feasible, comes first. Ranking (issue 3 item 3): same zone as the
    customer first, then skill match (team installs the charger type), then load in the ISO week of
    ``work_date`` (active assignments, fewer first), then team code. ``sla_days_left`` (calendar
    days from ``work_date`` to the SLA deadline) is reported on each suggestion; it is a property
    of the job and date, so it orders jobs (see ``affected_jobs``), not teams.

    Set-based, two statements whatever the number of teams (three when the customer's zone
    cannot fill ``limit`` and other zones are read): one for the job (zone, SLA inputs,
    charger type), one for the candidate teams in which the busy-in-slot, unavailable-that-day
    and already-holding teams are ``NOT IN`` subqueries and the week's load is one
    ``GROUP BY team_id`` derived table (outer-joined).

    Args:
        limit: maximum suggestions returned (<= 0: all).
        eligible_only: only teams ``book`` accepts without override (same zone, skill not
            missing).

    Raises:
        PermissionDenied: role may not assign teams (a planning tool: admin, central_ops);
        NotFound: no such installation; ValidationError: bad slot.
    """
    require(actor, ASSIGN_PERMISSION)
    validate_slot(time_slot)
    ctx = _ctx or _job_context(session, installation_id)
    deadline = sla_deadline(ctx.received_at, ctx.sla_install_days, ctx.holiday_subdiv)
    days_left = (deadline - work_date).days
    monday, sunday = _iso_week(work_date)
    standby_id = ctx.installation.standby_team_id

    busy = (
        select(InstallationAssignment.team_id)
        .where(
            InstallationAssignment.work_date == work_date,
            InstallationAssignment.time_slot == time_slot,
            InstallationAssignment.released_at.is_(None),
        )
        .scalar_subquery()
    )
    booked = (
        select(TeamSlotBooking.team_id)
        .where(TeamSlotBooking.slot_date == work_date, TeamSlotBooking.time_slot == time_slot)
        .scalar_subquery()
    )
    unavailable = (
        select(TeamUnavailability.team_id)
        .where(TeamUnavailability.from_date <= work_date, TeamUnavailability.to_date >= work_date)
        .scalar_subquery()
    )
    holding = (
        select(InstallationAssignment.team_id)
        .where(
            InstallationAssignment.installation_id == ctx.installation.id,
            InstallationAssignment.released_at.is_(None),
        )
        .scalar_subquery()
    )
    load = (
        select(
            InstallationAssignment.team_id.label("team_id"),
            func.count().label("n"),
        )
        .where(
            InstallationAssignment.work_date >= monday,
            InstallationAssignment.work_date <= sunday,
            InstallationAssignment.released_at.is_(None),
        )
        .group_by(InstallationAssignment.team_id)
        .subquery()
    )
    stmt = (
        select(
            FieldTeam.id,
            FieldTeam.code,
            FieldTeam.name,
            FieldTeam.zone_id,
            FieldTeam.skills,
            func.coalesce(load.c.n, 0),
        )
        .outerjoin(load, load.c.team_id == FieldTeam.id)
        .where(
            FieldTeam.active.is_(True),
            FieldTeam.id.not_in(busy),
            FieldTeam.id.not_in(booked),
            FieldTeam.id.not_in(unavailable),
            FieldTeam.id.not_in(holding),
        )
    )
    out: list[TeamSuggestion] = []
    # Same-zone teams rank first, so other zones are read only when the zone cannot fill
    # ``limit`` (keeps the rows read ~ the zone's teams, not every team of the company).
    phases = [FieldTeam.zone_id == ctx.zone_id]
    if not eligible_only:
        phases.append(FieldTeam.zone_id != ctx.zone_id)
    for zone_filter in phases:
        if out and 0 < limit <= len(out):
            break
        for team_id, code, name, zone_id, skills, n in session.execute(
            stmt.where(zone_filter)
        ).all():
            skill = None if ctx.charger_type is None else ctx.charger_type in (skills or [])
            s = TeamSuggestion(
                team_id=team_id,
                team_code=code,
                team_name=name,
                zone_id=zone_id,
                same_zone=zone_id == ctx.zone_id,
                skill_match=skill,
                week_load=int(n),
                sla_deadline=deadline,
                sla_days_left=days_left,
                is_standby=team_id == standby_id,
            )
            if eligible_only and not s.eligible:
                continue
            out.append(s)
    out.sort(
        key=lambda s: (
            not s.is_standby,
            not s.same_zone,
            s.skill_match is False,
            s.week_load,
            s.team_code,
        )
    )
    return out[:limit] if limit > 0 else out


def suggest_teams_naive(
    session: Session,
    actor: Actor,
    *,
    installation_id: uuid.UUID,
    work_date: date,
    time_slot: str,
    limit: int = 5,
) -> list[TeamSuggestion]:
    """BENCHMARK BASELINE ONLY (not for pages): same result as ``suggest_teams`` computed with
    per-team queries (availability, slot, other jobs, load: four queries per team)."""
    require(actor, ASSIGN_PERMISSION)
    validate_slot(time_slot)
    ctx = _job_context(session, installation_id)
    deadline = sla_deadline(ctx.received_at, ctx.sla_install_days, ctx.holiday_subdiv)
    monday, sunday = _iso_week(work_date)
    out: list[TeamSuggestion] = []

    def teams(same_zone: bool) -> list[FieldTeam]:
        cond = FieldTeam.zone_id == ctx.zone_id if same_zone else FieldTeam.zone_id != ctx.zone_id
        return list(session.scalars(select(FieldTeam).where(FieldTeam.active.is_(True), cond)))

    def consider(team: FieldTeam) -> None:
        if team_unavailability_reason(session, team.id, work_date):
            return
        active = and_(
            InstallationAssignment.team_id == team.id,
            InstallationAssignment.released_at.is_(None),
        )
        busy = session.scalar(
            select(func.count()).where(
                active,
                InstallationAssignment.work_date == work_date,
                InstallationAssignment.time_slot == time_slot,
            )
        )
        holds = session.scalar(
            select(func.count()).where(
                active, InstallationAssignment.installation_id == installation_id
            )
        )
        other_job = session.scalar(
            select(func.count()).where(
                TeamSlotBooking.team_id == team.id,
                TeamSlotBooking.slot_date == work_date,
                TeamSlotBooking.time_slot == time_slot,
            )
        )
        if busy or holds or other_job:
            return
        n = session.scalar(
            select(func.count()).where(
                active,
                InstallationAssignment.work_date >= monday,
                InstallationAssignment.work_date <= sunday,
            )
        )
        out.append(
            TeamSuggestion(
                team_id=team.id,
                team_code=team.code,
                team_name=team.name,
                zone_id=team.zone_id,
                same_zone=team.zone_id == ctx.zone_id,
                skill_match=None
                if ctx.charger_type is None
                else ctx.charger_type in (team.skills or []),
                week_load=int(n or 0),
                sla_deadline=deadline,
                sla_days_left=(deadline - work_date).days,
            )
        )

    for team in teams(True):
        consider(team)
    if limit <= 0 or len(out) < limit:  # other zones only when the zone cannot fill ``limit``
        for team in teams(False):
            consider(team)
    out.sort(
        key=lambda s: (
            not s.is_standby,
            not s.same_zone,
            s.skill_match is False,
            s.week_load,
            s.team_code,
        )
    )
    return out[:limit] if limit > 0 else out


def active_assignment(
    session: Session, actor: Actor, *, installation_id: uuid.UUID
) -> AssignmentDTO | None:
    """The installation's active assignment, or None (an oem_viewer sees only its own OEM's).

    Raises:
        PermissionDenied: role may not read installations.
    """
    require(actor, READ_PERMISSION)
    stmt = (
        select(InstallationAssignment, Installation.ref, FieldTeam.code)
        .join(Installation, Installation.id == InstallationAssignment.installation_id)
        .join(FieldTeam, FieldTeam.id == InstallationAssignment.team_id)
        .where(
            InstallationAssignment.installation_id == installation_id,
            InstallationAssignment.released_at.is_(None),
        )
    )
    if actor.role == "oem_viewer":
        stmt = stmt.join(Lead, Lead.id == Installation.lead_id).where(Lead.oem_id == actor.oem_id)
    row = session.execute(stmt).first()
    return _assignment_dto(*row) if row else None


__all__ = [
    "BOOKABLE_STATUSES",
    "AffectedJob",
    "AssignmentDTO",
    "TeamSuggestion",
    "active_assignment",
    "affected_jobs",
    "book",
    "charger_type_for_power",
    "mark_team_unavailable",
    "move",
    "reassign_emergency",
    "sla_deadline",
    "suggest_teams",
    "suggest_teams_naive",
    "unassign",
]
