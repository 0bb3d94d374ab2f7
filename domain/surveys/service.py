"""Survey commands: schedule, reschedule, cancel, record the report, submit, review.

Lifecycle (DESIGN.md "surveys")::

    scheduled --record_survey_report--> completed --submit_survey--> submitted
    submitted --review_survey--> reviewed_approved | reviewed_rejected
    scheduled | completed | submitted --cancel_survey--> cancelled

The lead follows: scheduling moves it ``new|contacted -> survey_scheduled``; approval moves it
to ``surveyed``; rejection or cancellation puts it back to ``contacted`` so a new survey can be
scheduled. Every other change raises ``TransitionError`` naming the current state and what is
needed, and changes nothing.

Field engineers record and submit only their own team's surveys (``actor.team_id``).
A team holds one job per date and slot across surveys, installations and service visits: a
survey that is not cancelled holds a row of ``team_slot_booking`` (``domain.slots``), whose
unique (team, date, slot) key refuses a second job even when two planners book at once.
Scheduling, rescheduling and cancelling claim, move and release that row; a friendly pre-check
(``require_slot_free``) names the job already in the slot. The team row is also locked
(``SELECT ... FOR UPDATE`` on PostgreSQL, the write lock of ``BEGIN IMMEDIATE`` on SQLite).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.types import utcnow
from domain import audit
from domain.accounts.models import FieldTeam
from domain.actor import Actor
from domain.calendar import local_date
from domain.errors import Conflict, NotFound, PermissionDenied, TransitionError, ValidationError
from domain.leads.models import Lead
from domain.media import remove_stored, store_upload
from domain.permissions import require
from domain.procurement.models import Material
from domain.refs import next_ref
from domain.scheduling import team_unavailability_reason, validate_slot
from domain.slots import (
    claim_team_slot,
    release_team_slot,
    require_slot_free,
    slot_clash,
    slot_conflict_message,
    slot_occupant,
)
from domain.surveys.dto import SurveyDTO
from domain.surveys.models import (
    PARKING_TYPES,
    SITE_TYPES,
    Survey,
    SurveyMedia,
    SurveyReport,
    SurveyReportLine,
)

__all__ = [
    "ACTIVE_SURVEY_STATUSES",
    "CANCELLABLE_SURVEY_STATUSES",
    "OPEN_LEAD_STATUSES",
    "cancel_survey",
    "record_survey_report",
    "reschedule_survey",
    "review_survey",
    "schedule_survey",
    "submit_survey",
]

OPEN_LEAD_STATUSES = ("new", "contacted")
"""Lead statuses a survey can be scheduled from (a rejected survey puts the lead back to
``contacted``)."""
ACTIVE_SURVEY_STATUSES = ("scheduled", "completed", "submitted")
"""A lead has at most one survey in these statuses."""
CANCELLABLE_SURVEY_STATUSES = ACTIVE_SURVEY_STATUSES
RECORDABLE_STATUSES = ("scheduled", "completed")
MAX_REASON = 300
MAX_NOTES = 2000
_CENT = Decimal("0.01")
_MAX_METRES = Decimal("99999.99")  # Numeric(7, 2)
_MAX_KW = Decimal("9999.99")  # Numeric(6, 2)


# --- helpers ------------------------------------------------------------------------------------
def _load_survey(session: Session, survey_id: uuid.UUID, *, lock: bool = False) -> Survey:
    stmt = select(Survey).where(Survey.id == survey_id)
    if lock:
        stmt = stmt.with_for_update()
    survey = session.execute(stmt).scalar_one_or_none()
    if survey is None:
        raise NotFound("survey not found")
    return survey


def _lead_open(session: Session, lead: Lead) -> bool:
    """A lead can get a survey when new or contacted, or ``surveyed`` without any approved
    survey (older data keeps a lead ``surveyed`` after its survey was rejected)."""
    if lead.status in OPEN_LEAD_STATUSES:
        return True
    if lead.status != "surveyed":
        return False
    approved = session.execute(
        select(Survey.id).where(Survey.lead_id == lead.id, Survey.status == "reviewed_approved")
    ).first()
    return approved is None


def _require_own_team(actor: Actor, survey: Survey) -> None:
    """Field engineers act only on their own team's surveys."""
    if actor.role == "field_engineer" and (
        actor.team_id is None or actor.team_id != survey.team_id
    ):
        raise PermissionDenied(f"survey {survey.ref} belongs to another team")


def _snapshot(survey: Survey) -> dict[str, Any]:
    return {
        "ref": survey.ref,
        "status": survey.status,
        "team_id": survey.team_id,
        "survey_date": survey.survey_date,
        "time_slot": survey.time_slot,
    }


def _clean_text(value: str | None, field: str, *, required: bool, limit: int) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationError({field: "this is required"})
        return None
    if len(text) > limit:
        raise ValidationError({field: f"longer than {limit} characters"})
    return text


def _check_team_slot(
    session: Session,
    *,
    lead: Lead,
    team_id: uuid.UUID,
    survey_date: date,
    time_slot: str,
    exclude_survey_id: uuid.UUID | None = None,
) -> FieldTeam:
    """Validate date, slot and team for a booking; returns the (locked) team.

    Raises:
        ValidationError: on ``survey_date`` (past), ``time_slot`` (unknown) or ``team_id``
            (unknown, inactive, other zone, unavailable that day).
        Conflict: the team already has a job (survey, installation, service visit) in that
            date and slot; the message names it.
    """
    errors: dict[str, str] = {}
    today = local_date(utcnow())
    if not isinstance(survey_date, date):
        errors["survey_date"] = "a date is required"
    elif survey_date < today:
        errors["survey_date"] = f"{survey_date.isoformat()} is in the past"
    try:
        validate_slot(time_slot)
    except ValidationError as e:
        errors.update(e.errors)
    team = session.execute(
        select(FieldTeam).where(FieldTeam.id == team_id).with_for_update()
    ).scalar_one_or_none()
    if team is None:
        errors["team_id"] = "field team not found"
    elif team.zone_id != lead.zone_id:
        errors["team_id"] = f"team {team.code} does not work in the lead's zone"
    elif "survey_date" not in errors:
        reason = team_unavailability_reason(session, team.id, survey_date)
        if reason:
            errors["team_id"] = reason
    if errors:
        raise ValidationError(errors)
    assert team is not None
    require_slot_free(
        session,
        team_id=team_id,
        day=survey_date,
        slot=time_slot,
        exclude_survey_id=exclude_survey_id,
    )
    return team


def _slot_or_retry(session: Session, team_id: uuid.UUID, day: date, slot: str) -> Conflict:
    """The Conflict for an IntegrityError while writing a survey: the job now in the team's
    slot when there is one (a concurrent booking), else a generic retry message."""
    if slot_occupant(session, team_id=team_id, day=day, slot=slot) or slot_clash(
        session, team_id=team_id, day=day, slot=slot
    ):
        return Conflict(slot_conflict_message(session, team_id=team_id, day=day, slot=slot))
    return Conflict("the survey was changed by someone else at the same time; please retry")


# --- commands -----------------------------------------------------------------------------------
def schedule_survey(
    session: Session,
    actor: Actor,
    *,
    lead_id: uuid.UUID,
    team_id: uuid.UUID,
    survey_date: date,
    time_slot: str,
) -> SurveyDTO:
    """Book a site survey of an open lead by a team on a local date and time slot.

    Rules: the lead is ``new`` or ``contacted`` (a rejected survey puts it back to contacted;
    a ``surveyed`` lead with no approved survey also qualifies) and has no active survey;
    the date is today or later (Asia/Kolkata); the slot is a configured one; the team is
    active, works in the lead's zone, is not unavailable that day and has no other job
    (survey, installation assignment, service visit) in that date/slot: the survey claims the
    team's slot in ``team_slot_booking``. The survey gets ref ``SUR-<year of survey_date>-NNNNN``
    and status ``scheduled``; the lead becomes ``survey_scheduled``.

    Raises:
        PermissionDenied: without ``survey.schedule``.
        NotFound: unknown lead.
        TransitionError: the lead is not open or already has an active survey.
        ValidationError: ``survey_date`` / ``time_slot`` / ``team_id`` refused (reason given).
        Conflict: the team already has a job in that date and slot (named in the message),
            also when another planner booked it at the same moment.
    """
    require(actor, "survey.schedule")
    lead = session.execute(
        select(Lead).where(Lead.id == lead_id).with_for_update()
    ).scalar_one_or_none()
    if lead is None:
        raise NotFound("lead not found")
    if not _lead_open(session, lead):
        raise TransitionError(
            f"lead {lead.ref} is {lead.status}; a survey can be scheduled only for a lead "
            f"that is {' or '.join(OPEN_LEAD_STATUSES)} (or surveyed with its survey rejected)"
        )
    active = session.execute(
        select(Survey.ref, Survey.status).where(
            Survey.lead_id == lead.id, Survey.status.in_(ACTIVE_SURVEY_STATUSES)
        )
    ).first()
    if active is not None:
        raise TransitionError(
            f"lead {lead.ref} already has survey {active[0]} ({active[1]}); "
            "cancel or review it first"
        )
    _check_team_slot(
        session, lead=lead, team_id=team_id, survey_date=survey_date, time_slot=time_slot
    )
    survey = Survey(
        ref=next_ref(session, "SUR", survey_date.year),
        lead_id=lead.id,
        team_id=team_id,
        survey_date=survey_date,
        time_slot=time_slot,
        status="scheduled",
    )
    lead_before = lead.status
    try:
        with session.begin_nested():
            session.add(survey)
            lead.status = "survey_scheduled"
            session.flush()
    except IntegrityError as exc:
        raise _slot_or_retry(session, team_id, survey_date, time_slot) from exc
    claim_team_slot(session, team_id=team_id, day=survey_date, slot=time_slot, survey_id=survey.id)
    audit.record(
        session,
        actor,
        "survey.schedule",
        entity_type="survey",
        entity_id=survey.id,
        before={"lead_ref": lead.ref, "lead_status": lead_before},
        after={**_snapshot(survey), "lead_ref": lead.ref, "lead_status": lead.status},
    )
    session.flush()
    return SurveyDTO.from_row(survey)


def reschedule_survey(
    session: Session,
    actor: Actor,
    *,
    survey_id: uuid.UUID,
    team_id: uuid.UUID,
    survey_date: date,
    time_slot: str,
    reason: str | None = None,
) -> SurveyDTO:
    """Move a ``scheduled`` survey to another team, date and/or slot (same rules as booking).

    The optional reason (max 300 characters) is kept in the audit trail. The survey's team
    slot moves with it (the old slot is free again).

    Raises:
        PermissionDenied: without ``survey.schedule``.
        NotFound: unknown survey.
        TransitionError: the survey is not ``scheduled``.
        ValidationError: ``survey_date`` / ``time_slot`` / ``team_id`` / ``reason`` refused.
        Conflict: the team already has another job in the new date and slot.
    """
    require(actor, "survey.schedule")
    survey = _load_survey(session, survey_id, lock=True)
    if survey.status != "scheduled":
        raise TransitionError(
            f"survey {survey.ref} is {survey.status}; only a scheduled survey can be rescheduled"
        )
    text = _clean_text(reason, "reason", required=False, limit=MAX_REASON)
    lead = session.get(Lead, survey.lead_id)
    assert lead is not None
    _check_team_slot(
        session,
        lead=lead,
        team_id=team_id,
        survey_date=survey_date,
        time_slot=time_slot,
        exclude_survey_id=survey.id,
    )
    before = _snapshot(survey)
    try:
        with session.begin_nested():
            survey.team_id = team_id
            survey.survey_date = survey_date
            survey.time_slot = time_slot
            session.flush()
    except IntegrityError as exc:
        raise _slot_or_retry(session, team_id, survey_date, time_slot) from exc
    claim_team_slot(session, team_id=team_id, day=survey_date, slot=time_slot, survey_id=survey.id)
    audit.record(
        session,
        actor,
        "survey.reschedule",
        entity_type="survey",
        entity_id=survey.id,
        before=before,
        after={**_snapshot(survey), "reason": text},
    )
    session.flush()
    return SurveyDTO.from_row(survey)


def cancel_survey(
    session: Session, actor: Actor, *, survey_id: uuid.UUID, reason: str
) -> SurveyDTO:
    """Cancel an active survey (scheduled, completed or submitted) with a reason.

    The reason (required, max 300 characters) is stored in ``cancel_reason`` and the audit
    trail; the team's slot is released; the lead goes back to ``contacted`` so another survey
    can be scheduled.

    Raises:
        PermissionDenied: without ``survey.cancel``.
        NotFound: unknown survey.
        ValidationError: ``{"reason": ...}`` blank or too long.
        TransitionError: the survey is already reviewed or cancelled.
    """
    require(actor, "survey.cancel")
    survey = _load_survey(session, survey_id, lock=True)
    if survey.status not in CANCELLABLE_SURVEY_STATUSES:
        raise TransitionError(
            f"survey {survey.ref} is {survey.status}; only a survey that is "
            f"{', '.join(CANCELLABLE_SURVEY_STATUSES)} can be cancelled"
        )
    text = _clean_text(reason, "reason", required=True, limit=MAX_REASON)
    lead = session.get(Lead, survey.lead_id)
    assert lead is not None
    before = {**_snapshot(survey), "lead_status": lead.status}
    survey.status = "cancelled"
    survey.cancel_reason = text
    release_team_slot(session, survey_id=survey.id)
    if lead.status in ("survey_scheduled", "surveyed"):
        lead.status = "contacted"
    session.flush()
    audit.record(
        session,
        actor,
        "survey.cancel",
        entity_type="survey",
        entity_id=survey.id,
        before=before,
        after={**_snapshot(survey), "lead_status": lead.status, "reason": text},
    )
    session.flush()
    return SurveyDTO.from_row(survey)


def _decimal(
    value: Any, field: str, errors: dict[str, str], *, positive: bool, limit: Decimal
) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()) or isinstance(value, bool):
        errors[field] = "a number is required"
        return None
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        errors[field] = f"{value!r} is not a number"
        return None
    if not number.is_finite():
        errors[field] = "must be a finite number"
        return None
    number = number.quantize(_CENT, rounding=ROUND_HALF_UP)
    if positive and number <= 0:
        errors[field] = "must be greater than 0"
    elif number < 0:
        errors[field] = "must not be negative"
    elif number > limit:
        errors[field] = f"must be at most {limit}"
    return number


def _validate_lines(
    session: Session, lines: Sequence[tuple[uuid.UUID, Any]], errors: dict[str, str]
) -> list[tuple[uuid.UUID, int]]:
    clean: list[tuple[uuid.UUID, int]] = []
    ids = [m for m, _ in lines if isinstance(m, uuid.UUID)]
    found = (
        {
            row.id: row
            for row in session.execute(
                select(Material.id, Material.name, Material.active).where(Material.id.in_(ids))
            ).all()
        }
        if ids
        else {}
    )
    first_line: dict[uuid.UUID, int] = {}
    for n, item in enumerate(lines, start=1):
        try:
            material_id, quantity = item
        except (TypeError, ValueError):
            errors[f"lines[{n}]"] = "a line is (material, quantity)"
            continue
        row = found.get(material_id) if isinstance(material_id, uuid.UUID) else None
        if row is None:
            errors[f"lines[{n}].material_id"] = "material not found"
        elif not row.active:
            errors[f"lines[{n}].material_id"] = f"{row.name} is no longer active"
        elif material_id in first_line:
            errors[f"lines[{n}].material_id"] = (
                f"{row.name} is already on line {first_line[material_id]}"
            )
        else:
            first_line[material_id] = n
        qty: int | None = None
        if isinstance(quantity, bool):
            qty = None
        elif isinstance(quantity, int):
            qty = quantity
        elif isinstance(quantity, float | Decimal) and quantity == int(quantity):
            qty = int(quantity)
        elif isinstance(quantity, str) and quantity.strip().isdigit():
            qty = int(quantity.strip())
        if qty is None:
            errors[f"lines[{n}].quantity"] = f"{quantity!r} is not a whole number"
        elif qty <= 0:
            errors[f"lines[{n}].quantity"] = "must be greater than 0"
        elif row is not None:
            clean.append((material_id, qty))
    return clean


def record_survey_report(
    session: Session,
    actor: Actor,
    *,
    survey_id: uuid.UUID,
    site_type: str,
    parking: str,
    meter_distance_m: Decimal | int | float | str,
    sanctioned_load_kw: Decimal | int | float | str,
    earthing_ok: bool,
    recommended_charger_id: uuid.UUID | None,
    cable_length_m: Decimal | int | float | str,
    load_enhancement_needed: bool,
    notes: str | None,
    lines: Sequence[tuple[uuid.UUID, int]],
) -> SurveyDTO:
    """Record (or correct) the one report of a survey; ``scheduled -> completed``.

    Units: ``meter_distance_m`` and ``cable_length_m`` in metres (>= 0), ``sanctioned_load_kw``
    in kW (> 0); rounded to 2 decimals. ``recommended_charger_id`` is an active material of
    category ``charger``. ``lines`` are ``(material_id, quantity)`` with an active material,
    a whole quantity > 0 and no material twice; they replace any previous lines. Recording
    again while the survey is ``completed`` (not yet submitted) updates the report.
    ``completed_at`` is set the first time.

    Raises:
        PermissionDenied: without ``survey.record_report``, or a field engineer of another team.
        NotFound: unknown survey.
        TransitionError: the survey is not scheduled or completed.
        ValidationError: every bad field by name (``site_type``, ``parking``,
            ``meter_distance_m``, ``sanctioned_load_kw``, ``cable_length_m``,
            ``recommended_charger_id``, ``notes``, ``lines[N].material_id``,
            ``lines[N].quantity`` with N counted from 1).
    """
    require(actor, "survey.record_report")
    survey = _load_survey(session, survey_id, lock=True)
    _require_own_team(actor, survey)
    if survey.status not in RECORDABLE_STATUSES:
        raise TransitionError(
            f"survey {survey.ref} is {survey.status}; a report can be recorded only while the "
            "survey is scheduled or completed (not yet submitted)"
        )
    errors: dict[str, str] = {}
    if site_type not in SITE_TYPES:
        errors["site_type"] = f"{site_type!r} is not one of {', '.join(SITE_TYPES)}"
    if parking not in PARKING_TYPES:
        errors["parking"] = f"{parking!r} is not one of {', '.join(PARKING_TYPES)}"
    distance = _decimal(
        meter_distance_m, "meter_distance_m", errors, positive=False, limit=_MAX_METRES
    )
    load = _decimal(sanctioned_load_kw, "sanctioned_load_kw", errors, positive=True, limit=_MAX_KW)
    cable = _decimal(cable_length_m, "cable_length_m", errors, positive=False, limit=_MAX_METRES)
    if recommended_charger_id is None:
        errors["recommended_charger_id"] = "choose the recommended charger"
    else:
        charger = session.get(Material, recommended_charger_id)
        if charger is None:
            errors["recommended_charger_id"] = "material not found"
        elif charger.category != "charger":
            errors["recommended_charger_id"] = (
                f"{charger.name} is a {charger.category} material, not a charger"
            )
        elif not charger.active:
            errors["recommended_charger_id"] = f"{charger.name} is no longer active"
    note_text = (notes or "").strip() or None
    if note_text and len(note_text) > MAX_NOTES:
        errors["notes"] = f"longer than {MAX_NOTES} characters"
    clean_lines = _validate_lines(session, list(lines or ()), errors)
    if errors:
        raise ValidationError(errors)

    report = session.execute(
        select(SurveyReport).where(SurveyReport.survey_id == survey.id)
    ).scalar_one_or_none()
    before: dict[str, Any] = {"status": survey.status, "report": None}
    values = {
        "site_type": site_type,
        "parking": parking,
        "meter_distance_m": distance,
        "sanctioned_load_kw": load,
        "earthing_ok": bool(earthing_ok),
        "recommended_charger_id": recommended_charger_id,
        "cable_length_m": cable,
        "load_enhancement_needed": bool(load_enhancement_needed),
        "notes": note_text,
        "submitted_by_id": actor.user_id,
    }
    try:
        with session.begin_nested():
            if report is None:
                report = SurveyReport(survey_id=survey.id, **values)
                session.add(report)
            else:
                before["report"] = {k: getattr(report, k) for k in values}
                for key, value in values.items():
                    setattr(report, key, value)
            session.flush()
            session.execute(
                delete(SurveyReportLine).where(SurveyReportLine.survey_report_id == report.id)
            )
            if clean_lines:
                session.execute(
                    insert(SurveyReportLine),
                    [
                        {
                            "id": uuid.uuid4(),
                            "created_at": utcnow(),
                            "survey_report_id": report.id,
                            "material_id": material_id,
                            "quantity": qty,
                        }
                        for material_id, qty in clean_lines
                    ],
                )
            if survey.status == "scheduled":
                survey.status = "completed"
                survey.completed_at = utcnow()
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"survey {survey.ref} was changed by someone else; reload") from exc
    audit.record(
        session,
        actor,
        "survey.record_report",
        entity_type="survey",
        entity_id=survey.id,
        before=before,
        after={
            "ref": survey.ref,
            "status": survey.status,
            "report": values,
            "lines": [{"material_id": m, "quantity": q} for m, q in clean_lines],
        },
    )
    session.flush()
    return SurveyDTO.from_row(survey)


def submit_survey(session: Session, actor: Actor, *, survey_id: uuid.UUID) -> SurveyDTO:
    """Submit a completed survey for review: ``completed -> submitted`` (``submitted_at`` set).

    Raises:
        PermissionDenied: without ``survey.submit``, or a field engineer of another team.
        NotFound: unknown survey.
        TransitionError: the survey is not ``completed`` or has no report.
    """
    require(actor, "survey.submit")
    survey = _load_survey(session, survey_id, lock=True)
    _require_own_team(actor, survey)
    if survey.status != "completed":
        raise TransitionError(
            f"survey {survey.ref} is {survey.status}; only a completed survey (with its report "
            "recorded) can be submitted"
        )
    has_report = session.execute(
        select(SurveyReport.id).where(SurveyReport.survey_id == survey.id)
    ).first()
    if has_report is None:
        raise TransitionError(f"survey {survey.ref} has no report; record the report first")
    before = _snapshot(survey)
    survey.status = "submitted"
    survey.submitted_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "survey.submit",
        entity_type="survey",
        entity_id=survey.id,
        before=before,
        after=_snapshot(survey),
    )
    session.flush()
    return SurveyDTO.from_row(survey)


def review_survey(
    session: Session, actor: Actor, *, survey_id: uuid.UUID, approve: bool, notes: str | None
) -> SurveyDTO:
    """Approve or reject a submitted survey: ``submitted -> reviewed_approved | reviewed_rejected``.

    Sets reviewer and ``reviewed_at``; notes (max 2000 characters) are required to reject.
    Approval moves the lead to ``surveyed`` (an installation can then be created from the
    survey); rejection moves it back to ``contacted`` so a new survey can be scheduled.

    Raises:
        PermissionDenied: without ``survey.review``.
        NotFound: unknown survey.
        TransitionError: the survey is not ``submitted``.
        ValidationError: ``{"notes": ...}`` missing on reject, or too long.
    """
    require(actor, "survey.review")
    survey = _load_survey(session, survey_id, lock=True)
    if survey.status != "submitted":
        raise TransitionError(
            f"survey {survey.ref} is {survey.status}; only a submitted survey can be reviewed"
        )
    text = _clean_text(notes, "notes", required=False, limit=MAX_NOTES)
    if not approve and text is None:
        raise ValidationError({"notes": "say why the survey is rejected"})
    lead = session.get(Lead, survey.lead_id)
    assert lead is not None
    before = {**_snapshot(survey), "lead_status": lead.status}
    survey.status = "reviewed_approved" if approve else "reviewed_rejected"
    survey.reviewer_id = actor.user_id
    survey.reviewed_at = utcnow()
    survey.review_notes = text
    lead.status = "surveyed" if approve else "contacted"
    session.flush()
    audit.record(
        session,
        actor,
        "survey.review",
        entity_type="survey",
        entity_id=survey.id,
        before=before,
        after={**_snapshot(survey), "lead_status": lead.status, "notes": text},
    )
    session.flush()
    return SurveyDTO.from_row(survey)


@dataclass(frozen=True)
class SurveyPhotoDTO:
    """A stored survey photo: path relative to the data directory, size in bytes."""

    id: uuid.UUID
    survey_id: uuid.UUID
    file_path: str
    content_type: str
    size_bytes: int
    sha256: str
    caption: str | None


PHOTO_STATUSES = ("scheduled", "completed")


def add_survey_photo(
    session: Session,
    actor: Actor,
    *,
    survey_id: uuid.UUID,
    data: bytes,
    filename: str,
    caption: str | None = None,
    data_dir: Path | None = None,
) -> SurveyPhotoDTO:
    """Store a site photo of a survey (``survey_media``) while it is scheduled or completed.

    The type is detected from the bytes and the file stored under a random name with its
    sha256 (``domain.media.store_upload``, photos at most 10 MiB); the declared file name is
    only the default caption. If the row cannot be written the file is removed again.

    Raises:
        PermissionDenied: without ``survey.record_report``, or a field engineer of another team.
        NotFound: no such survey.
        TransitionError: the survey is past the site visit (submitted, reviewed or cancelled).
        ValidationError: ``file`` empty, too large or not a photo; ``caption`` too long.
    """
    require(actor, "survey.record_report")
    survey = _load_survey(session, survey_id)
    _require_own_team(actor, survey)
    if survey.status not in PHOTO_STATUSES:
        raise TransitionError(
            f"survey {survey.ref} is {survey.status}; photos are added while it is scheduled "
            "or completed"
        )
    text = _clean_text(caption, "caption", required=False, limit=200) or (filename or "")[:200]
    stored = store_upload(data, declared_name=filename, kind="photo", data_dir=data_dir)
    try:
        with session.begin_nested():
            row = SurveyMedia(
                survey_id=survey.id,
                file_path=stored.path,
                content_type=stored.content_type,
                size_bytes=stored.size_bytes,
                sha256=stored.sha256,
                caption=text or None,
                uploaded_by_id=actor.user_id,
            )
            session.add(row)
            session.flush()
    except BaseException:
        remove_stored(stored.path, data_dir)
        raise
    audit.record(
        session,
        actor,
        "survey.photo_add",
        entity_type="survey_media",
        entity_id=row.id,
        after={"survey": survey.ref, "file_path": row.file_path, "sha256": row.sha256},
    )
    return SurveyPhotoDTO(
        id=row.id,
        survey_id=survey.id,
        file_path=row.file_path,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        caption=row.caption,
    )
