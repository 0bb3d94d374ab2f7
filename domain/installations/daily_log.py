"""Field teams' daily logs (DESIGN.md: seed 003's daily reports map to ``team_daily_log``).

One row per team and local date: the day type (productive / non-productive / holiday), the
number of jobs done and notes. Recording again for the same team and date updates the row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.types import utcnow
from domain import audit
from domain.accounts.models import FieldTeam
from domain.actor import Actor
from domain.calendar import local_date
from domain.errors import Conflict, NotFound, PermissionDenied, ValidationError
from domain.installations.models import DAY_TYPES, TeamDailyLog
from domain.permissions import require

MAX_JOBS_PER_DAY = 50
MAX_NOTES = 2000


@dataclass(frozen=True)
class DailyLogDTO:
    """A team's day: ``day_type`` one of ``DAY_TYPES``, ``jobs_done`` ≥ 0."""

    id: uuid.UUID
    team_id: uuid.UUID
    team_code: str
    log_date: date
    day_type: str
    jobs_done: int
    notes: str | None
    created_by_id: uuid.UUID | None
    created_at: datetime


def _dto(log: TeamDailyLog, team_code: str) -> DailyLogDTO:
    return DailyLogDTO(
        id=log.id,
        team_id=log.team_id,
        team_code=team_code,
        log_date=log.log_date,
        day_type=log.day_type,
        jobs_done=log.jobs_done,
        notes=log.notes,
        created_by_id=log.created_by_id,
        created_at=log.created_at,
    )


def _snapshot(log: TeamDailyLog) -> dict[str, object]:
    return {
        "log_date": log.log_date,
        "day_type": log.day_type,
        "jobs_done": log.jobs_done,
        "notes": log.notes,
    }


def record_daily_log(
    session: Session,
    actor: Actor,
    *,
    team_id: uuid.UUID,
    log_date: date,
    day_type: str,
    jobs_done: int,
    notes: str | None = None,
) -> DailyLogDTO:
    """Record (insert or update) a team's log for one local date.

    Args:
        log_date: local date (Asia/Kolkata), today or earlier.
        day_type: ``productive``, ``non_productive`` or ``holiday``.
        jobs_done: jobs finished that day, 0..50; a holiday has 0.
        notes: free text, ≤ 2000 characters.

    Raises:
        PermissionDenied: no ``installation.transition``, or a field engineer logging for a
            team other than their own.
        NotFound: no such team.
        ValidationError: ``log_date`` in the future, ``day_type``, ``jobs_done``, ``notes``.
        Conflict: another user recorded the same team and date at the same moment.
    """
    require(actor, "team_log.record")
    if actor.role == "field_engineer" and (actor.team_id is None or actor.team_id != team_id):
        raise PermissionDenied("field engineers record the daily log of their own team only")
    team = session.get(FieldTeam, team_id)
    if team is None:
        raise NotFound("field team not found")
    errors: dict[str, str] = {}
    today = local_date(utcnow())
    if not isinstance(log_date, date) or isinstance(log_date, datetime):
        errors["log_date"] = "a date is required"
    elif log_date > today:
        errors["log_date"] = f"{log_date:%d %b %Y} is in the future"
    if day_type not in DAY_TYPES:
        errors["day_type"] = f"use one of {', '.join(DAY_TYPES)}"
    try:
        jobs = int(jobs_done)
    except (TypeError, ValueError):
        jobs = -1
    if jobs < 0 or jobs > MAX_JOBS_PER_DAY or jobs != jobs_done:
        errors["jobs_done"] = f"a whole number from 0 to {MAX_JOBS_PER_DAY}"
    elif day_type == "holiday" and jobs > 0:
        errors["jobs_done"] = "a holiday has no jobs done"
    notes_text = (notes or "").strip() or None
    if notes_text is not None and len(notes_text) > MAX_NOTES:
        errors["notes"] = f"at most {MAX_NOTES} characters"
    if errors:
        raise ValidationError(errors)

    log = session.execute(
        select(TeamDailyLog).where(
            TeamDailyLog.team_id == team_id, TeamDailyLog.log_date == log_date
        )
    ).scalar_one_or_none()
    before = None if log is None else _snapshot(log)
    try:
        with session.begin_nested():
            if log is None:
                log = TeamDailyLog(team_id=team_id, log_date=log_date, created_by_id=actor.user_id)
                session.add(log)
            log.day_type = day_type
            log.jobs_done = jobs
            log.notes = notes_text
            session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"the log of team {team.code} for {log_date:%d %b %Y} was just recorded by someone "
            "else; reload and try again"
        ) from exc
    audit.record(
        session,
        actor,
        "team_daily_log.record",
        entity_type="team_daily_log",
        entity_id=log.id,
        before=before,
        after={"team": team.code, **_snapshot(log)},
    )
    session.flush()
    return _dto(log, team.code)


def list_daily_logs(
    session: Session,
    actor: Actor,
    *,
    team_id: uuid.UUID | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 366,
) -> list[DailyLogDTO]:
    """Daily logs, newest date first.

    Field engineers see only their own team's (``team_id`` defaults to it); other staff may
    filter by team or see all teams. oem_viewers see none (internal data).

    Args:
        date_from / date_to: inclusive local dates (default the last 30 days up to today).
        limit: maximum rows (1..1000).

    Raises:
        PermissionDenied: no ``team_log.read``, an oem_viewer, or a field engineer asking
            for another team.
        ValidationError: ``date_to`` before ``date_from``.
    """
    require(actor, "team_log.read")
    if actor.role == "oem_viewer":
        raise PermissionDenied("team daily logs are internal")
    if actor.role == "field_engineer":
        if actor.team_id is None:
            return []
        if team_id is not None and team_id != actor.team_id:
            raise PermissionDenied("field engineers see their own team's daily log only")
        team_id = actor.team_id
    date_to = date_to or local_date(utcnow())
    date_from = date_from or date_to - timedelta(days=30)
    if date_to < date_from:
        raise ValidationError({"date_to": "must not be before the start date"})
    stmt = (
        select(TeamDailyLog, FieldTeam.code)
        .join(FieldTeam, FieldTeam.id == TeamDailyLog.team_id)
        .where(TeamDailyLog.log_date >= date_from, TeamDailyLog.log_date <= date_to)
    )
    if team_id is not None:
        stmt = stmt.where(TeamDailyLog.team_id == team_id)
    stmt = stmt.order_by(TeamDailyLog.log_date.desc(), FieldTeam.code).limit(
        max(1, min(int(limit), 1000))
    )
    return [_dto(log, code) for log, code in session.execute(stmt).all()]
