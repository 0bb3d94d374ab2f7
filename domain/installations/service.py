"""Installation commands (seed 001): create from an approved survey, move along the lifecycle,
reschedule, cancel, record the customer's confirmation call and the demo.

The lifecycle rules themselves live in ``lifecycle`` (data + pure guards); this module loads
the row, checks who may act, applies the side effects of each state, writes one
``installation_status_change`` per transition and one audit event per command, and flushes.
It never commits.

Who may act: central_ops and admin on every installation; a field engineer only on a job of
their own team (an active ``installation_assignment`` with ``team_id == actor.team_id``) and
only to ``in_progress`` / ``completed`` (and the demo flag). Everyone else is refused by the
permission table.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import domain.business_calendar  # noqa: F401  (its flush hook keeps the stored ordinals)
from db.types import utcnow
from domain import audit
from domain.actor import Actor
from domain.calendar import local_date
from domain.errors import Conflict, NotFound, PermissionDenied, TransitionError, ValidationError
from domain.installations.dto import InstallationDTO
from domain.installations.lifecycle import (
    InstallationState,
    TransitionContext,
    check_transition,
)
from domain.installations.models import (
    Installation,
    InstallationAssignment,
    InstallationReport,
    InstallationStatusChange,
)
from domain.leads.models import Lead
from domain.permissions import require
from domain.refs import next_ref
from domain.reporting.months import ensure_month, require_installation_month_open
from domain.scheduling import validate_slot
from domain.slots import release_team_slot
from domain.surveys.models import Survey

__all__ = [
    "CONFIRMABLE_STATUSES",
    "CONFIRMATION_OUTCOMES",
    "DEMO_STATUSES",
    "FIELD_ENGINEER_TARGETS",
    "cancel",
    "create_installation",
    "is_own_team_job",
    "record_customer_confirmation",
    "reschedule",
    "set_demo_completed",
    "transition",
    "transition_permission",
]

FIELD_ENGINEER_TARGETS = frozenset({"in_progress", "completed"})
"""The only targets a field engineer may move their own team's job to."""

CONFIRMATION_OUTCOMES = ("confirmed", "no_answer", "declined")
"""Outcomes of a pre-installation confirmation call."""

CONFIRMABLE_STATUSES = ("planned", "material_pending", "material_ready", "confirmed")
"""States in which the confirmation call is made (a date exists, work has not started)."""

DEMO_STATUSES = ("in_progress", "completed", "report_submitted")
"""States in which the customer demo can be marked done (on site or after)."""

MAX_REASON = 300
MAX_NOTES = 500

_PERMISSION_FOR_TARGET = {
    "rescheduled": "installation.reschedule",
    "planned": "installation.reschedule",
    "cancelled": "installation.cancel",
}


def transition_permission(to_status: str) -> str:
    """The permission name needed to move an installation to ``to_status``."""
    return _PERMISSION_FOR_TARGET.get(to_status, "installation.transition")


def is_own_team_job(session: Session, actor: Actor, installation_id: uuid.UUID) -> bool:
    """True when the actor's team holds an active assignment on the installation."""
    if actor.team_id is None:
        return False
    found = session.execute(
        select(InstallationAssignment.id)
        .where(
            InstallationAssignment.installation_id == installation_id,
            InstallationAssignment.team_id == actor.team_id,
            InstallationAssignment.released_at.is_(None),
        )
        .limit(1)
    ).first()
    return found is not None


def _clean_text(value: str | None, field: str, limit: int) -> str | None:
    text = " ".join((value or "").split())
    if len(text) > limit:
        raise ValidationError(
            {field: f"{field.replace('_', ' ')} is longer than {limit} characters"}
        )
    return text or None


def _validate_schedule(
    scheduled_date: date | None, time_slot: str | None, *, date_field: str, slot_field: str
) -> None:
    errors: dict[str, str] = {}
    if time_slot is not None and scheduled_date is None:
        errors[date_field] = "a date is required with a time slot"
    if scheduled_date is not None and scheduled_date < local_date(utcnow()):
        errors[date_field] = f"{scheduled_date.isoformat()} is in the past"
    if time_slot is not None:
        try:
            validate_slot(time_slot, slot_field)
        except ValidationError as e:
            errors.update(e.errors)
    if errors:
        raise ValidationError(errors)


def _load(session: Session, installation_id: uuid.UUID) -> Installation:
    inst = session.get(Installation, installation_id, with_for_update=True, populate_existing=True)
    if inst is None:
        raise NotFound("installation not found")
    return inst


def _authorize(session: Session, actor: Actor, inst: Installation, to_status: str) -> None:
    if actor.role == "field_engineer":
        if to_status not in FIELD_ENGINEER_TARGETS:
            targets = " or ".join(sorted(FIELD_ENGINEER_TARGETS))
            raise PermissionDenied(f"a field engineer may only move a job to {targets}")
        if not is_own_team_job(session, actor, inst.id):
            raise PermissionDenied(f"installation {inst.ref} is not assigned to your team")


def _state(inst: Installation) -> InstallationState:
    return InstallationState(
        ref=inst.ref,
        status=inst.status,
        material_ready=bool(inst.material_ready),
        customer_confirmed=bool(inst.customer_confirmed),
        scheduled_date=inst.scheduled_date,
    )


def _report_context(session: Session, installation_id: uuid.UUID) -> tuple[str | None, Any]:
    row = session.execute(
        select(InstallationReport.charger_serial, InstallationReport.charger_model_id).where(
            InstallationReport.installation_id == installation_id
        )
    ).first()
    return (row[0], row[1]) if row else (None, None)


def _snapshot(inst: Installation) -> dict[str, Any]:
    return {
        "status": inst.status,
        "scheduled_date": inst.scheduled_date,
        "time_slot": inst.time_slot,
        "material_ready": inst.material_ready,
        "customer_confirmed": inst.customer_confirmed,
        "demo_completed": inst.demo_completed,
    }


def _audit_change(
    session: Session,
    actor: Actor,
    inst: Installation,
    action: str,
    before: dict[str, Any],
    reason: str | None,
) -> None:
    """Flush the change and write its audit event (before/after snapshot plus the reason)."""
    session.flush()
    audit.record(
        session,
        actor,
        action,
        entity_type="installation",
        entity_id=inst.id,
        before=before,
        after={**_snapshot(inst), "reason": reason},
    )
    session.flush()


def _set_lead_status(session: Session, lead_id: uuid.UUID, status: str) -> None:
    lead = session.get(Lead, lead_id)
    if lead is not None and lead.status != "cancelled":
        lead.status = status


def _release_assignments(
    session: Session, inst: Installation, now: datetime, reason: str | None = None
) -> int:
    rows = session.scalars(
        select(InstallationAssignment).where(
            InstallationAssignment.installation_id == inst.id,
            InstallationAssignment.released_at.is_(None),
        )
    ).all()
    for row in rows:
        row.released_at = now
        if reason:
            row.reason = reason[:300]
        release_team_slot(session, assignment_id=row.id)
    return len(rows)


def _apply(
    session: Session,
    actor: Actor,
    inst: Installation,
    to_status: str,
    *,
    reason: str | None,
    new_date: date | None = None,
    new_slot: str | None = None,
) -> None:
    """Check and apply one transition with its side effects and its status-change row.

    Refused with ``MonthLocked`` when the installation was completed in a closed/invoiced
    month; completing opens the OEM's folder of the month (``ensure_month``, seed 003).
    """
    require_installation_month_open(session, inst)
    serial, model_id = (None, None)
    if to_status == "report_submitted":
        serial, model_id = _report_context(session, inst.id)
    check_transition(
        _state(inst),
        to_status,
        TransitionContext(
            reason=reason, report_serial=serial, report_model_id=model_id, new_date=new_date
        ),
    )
    if to_status == "planned":
        _validate_schedule(new_date, new_slot, date_field="new_date", slot_field="new_slot")
    now = utcnow()
    from_status = inst.status
    if to_status == "material_pending":
        inst.material_ready = False
    elif to_status == "material_ready":
        inst.material_ready = True
    elif to_status == "completed":
        inst.completed_at = now
        _set_lead_status(session, inst.lead_id, "installed")
        oem_id = session.execute(select(Lead.oem_id).where(Lead.id == inst.lead_id)).scalar_one()
        ensure_month(session, oem_id=oem_id, month=now)
    elif to_status == "closed":
        inst.closed_at = now
        _set_lead_status(session, inst.lead_id, "closed")
    elif to_status == "rescheduled":
        inst.reschedule_reason = reason
        inst.scheduled_date = None
        inst.time_slot = None
        # A confirmation is for a date: the new date needs a new call.
        inst.customer_confirmed = False
        inst.confirmed_at = None
        inst.confirmed_by_id = None
        if inst.completed_at is not None:
            inst.completed_at = None
            _set_lead_status(session, inst.lead_id, "installation_scheduled")
        _release_assignments(session, inst, now, f"rescheduled: {reason}")
    elif to_status == "planned" and new_date is not None:
        # Without a new date the date booked meanwhile (dispatch board) is kept.
        inst.scheduled_date = new_date
        inst.time_slot = new_slot
    elif to_status == "cancelled":
        inst.cancel_reason = reason
        _release_assignments(session, inst, now, f"cancelled: {reason}")
    inst.status = to_status
    session.add(
        InstallationStatusChange(
            installation_id=inst.id,
            from_status=from_status,
            to_status=to_status,
            changed_by_id=actor.user_id,
            reason=reason,
            created_at=now,
        )
    )


def create_installation(
    session: Session,
    actor: Actor,
    *,
    survey_id: uuid.UUID,
    scheduled_date: date | None = None,
    time_slot: str | None = None,
) -> InstallationDTO:
    """Create the installation of an approved survey (seed 001), status ``planned``.

    One installation per survey, enforced by the unique constraint on ``survey_id``: of two
    planners creating one at the same time exactly one succeeds, the other gets ``Conflict``.
    The ref is ``INS-<year>-NNNNN`` (local year of creation). Writes the first status-change
    row (None -> planned), moves the lead to ``installation_scheduled`` and audits
    ``installation.create``.

    Args:
        scheduled_date: optional local date, not in the past; time_slot: optional configured
            slot (needs a date).

    Raises:
        PermissionDenied: without ``installation.create``.
        NotFound: unknown survey.
        ValidationError: survey not ``reviewed_approved``, lead cancelled, bad date/slot.
        Conflict: the survey already has an installation (also under concurrency).
    """
    require(actor, "installation.create")
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise NotFound("survey not found")
    if survey.status != "reviewed_approved":
        raise ValidationError(
            {
                "survey_id": f"survey {survey.ref} is {survey.status}; an installation needs "
                "a reviewed_approved survey"
            }
        )
    lead = session.get(Lead, survey.lead_id)
    if lead is None or lead.status == "cancelled":
        raise ValidationError({"survey_id": f"the lead of survey {survey.ref} is cancelled"})
    existing = session.execute(
        select(Installation.ref).where(Installation.survey_id == survey_id)
    ).scalar_one_or_none()
    if existing is not None:
        raise Conflict(f"survey {survey.ref} already has installation {existing}")
    _validate_schedule(
        scheduled_date, time_slot, date_field="scheduled_date", slot_field="time_slot"
    )
    now = utcnow()
    inst = Installation(
        ref=next_ref(session, "INS", local_date(now).year),
        survey_id=survey.id,
        lead_id=lead.id,
        status="planned",
        scheduled_date=scheduled_date,
        time_slot=time_slot,
        material_ready=False,
        customer_confirmed=False,
        demo_completed=False,
        created_by_id=actor.user_id,
    )
    try:
        with session.begin_nested():
            session.add(inst)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"survey {survey.ref} was just given an installation by someone else"
        ) from exc
    session.add(
        InstallationStatusChange(
            installation_id=inst.id,
            from_status=None,
            to_status="planned",
            changed_by_id=actor.user_id,
            reason=None,
            created_at=now,
        )
    )
    lead.status = "installation_scheduled"
    dto = InstallationDTO.from_row(inst)
    audit.record(
        session,
        actor,
        "installation.create",
        entity_type="installation",
        entity_id=inst.id,
        after={"ref": inst.ref, "survey": survey.ref, "lead": lead.ref, **_snapshot(inst)},
    )
    session.flush()
    return dto


def transition(
    session: Session,
    actor: Actor,
    *,
    installation_id: uuid.UUID,
    to_status: str,
    reason: str | None = None,
    new_date: date | None = None,
    new_slot: str | None = None,
) -> InstallationDTO:
    """Move an installation to ``to_status`` along the seed-001 lifecycle.

    Side effects: ``material_pending``/``material_ready`` set the material flag off/on;
    ``completed`` sets ``completed_at`` and the lead to ``installed``; ``closed`` sets
    ``closed_at`` and the lead to ``closed``; ``rescheduled`` keeps the reason, clears the
    date, slot and customer confirmation and releases active team assignments;
    ``planned`` (from rescheduled) takes ``new_date``/``new_slot`` or keeps a date booked
    meanwhile (a date is required either way); ``cancelled`` keeps the
    reason and releases assignments. Writes an ``installation_status_change`` row and audits
    ``installation.transition``.

    Args:
        reason: required (max 300 characters) for ``rescheduled`` and ``cancelled``, kept on
            the status-change row for any target.

    Raises:
        PermissionDenied: role not allowed (``installation.transition``, or
            ``installation.reschedule``/``installation.cancel`` for those targets); a field
            engineer outside their own team's job or to a target other than
            in_progress/completed.
        NotFound: unknown installation.
        TransitionError: illegal edge or failing guard (material not ready, customer not
            confirmed, report lacks serial/model, reason or new date missing).
        ValidationError: reason too long, bad new date/slot.
    """
    require(actor, transition_permission(to_status))
    inst = _load(session, installation_id)
    _authorize(session, actor, inst, to_status)
    text = _clean_text(reason, "reason", MAX_REASON)
    before = _snapshot(inst)
    _apply(session, actor, inst, to_status, reason=text, new_date=new_date, new_slot=new_slot)
    _audit_change(session, actor, inst, "installation.transition", before, text)
    return InstallationDTO.from_row(inst)


MATERIAL_TARGETS: frozenset[str] = frozenset({"material_pending", "material_ready"})
"""Statuses the material flow (allocation, delivery, return: issue 4) may move to."""


def apply_material_transition(
    session: Session, actor: Actor, inst: Installation, *, to_status: str, reason: str
) -> None:
    """Move ``inst`` to ``material_pending`` or ``material_ready`` because of its material.

    Called by the procurement commands (allocate, deliver, return) after they checked their
    own permission (``allocation.*``), inside their transaction; ``inst`` must be loaded
    (and locked) by the caller. Same guards, status-change row and audit as ``transition``.

    Raises:
        ValueError: ``to_status`` is not a material status (a programming error).
        TransitionError: the lifecycle (seed 001) does not allow the move from here.
    """
    if to_status not in MATERIAL_TARGETS:
        raise ValueError(f"{to_status!r} is not a material status")
    before = _snapshot(inst)
    _apply(session, actor, inst, to_status, reason=reason)
    _audit_change(session, actor, inst, "installation.transition", before, reason)


def close_after_pack_acceptance(
    session: Session, actor: Actor, *, installation_id: uuid.UUID, reason: str
) -> InstallationDTO:
    """Close a ``report_submitted`` installation because the OEM accepted its closure pack.

    Called by ``domain.reporting.packs.record_oem_response`` after it checked its own
    permission (``closure_pack.record_response``), inside its transaction. Same guards,
    status-change row and audit (``installation.transition``) as ``transition``.

    Raises:
        NotFound: unknown installation.
        TransitionError: the lifecycle does not allow ``closed`` from the current status.
    """
    inst = _load(session, installation_id)
    before = _snapshot(inst)
    _apply(session, actor, inst, "closed", reason=reason[:MAX_REASON])
    _audit_change(session, actor, inst, "installation.transition", before, reason[:MAX_REASON])
    return InstallationDTO.from_row(inst)


def reschedule(
    session: Session,
    actor: Actor,
    *,
    installation_id: uuid.UUID,
    reason: str,
    new_date: date | None = None,
    new_slot: str | None = None,
) -> InstallationDTO:
    """Reschedule an open installation: -> ``rescheduled`` (reason kept, teams released), and
    straight back to ``planned`` on ``new_date``/``new_slot`` when a new date is given.

    Two status-change rows when a new date is given, one audit event
    ``installation.reschedule``.

    Raises:
        PermissionDenied: without ``installation.reschedule``.
        NotFound: unknown installation.
        TransitionError: closed/cancelled/already rescheduled, or blank reason.
        ValidationError: reason too long, new date in the past, unknown slot, slot without
            date.
    """
    require(actor, "installation.reschedule")
    inst = _load(session, installation_id)
    text = _clean_text(reason, "reason", MAX_REASON)
    if new_date is not None or new_slot is not None:
        _validate_schedule(new_date, new_slot, date_field="new_date", slot_field="new_slot")
    before = _snapshot(inst)
    _apply(session, actor, inst, "rescheduled", reason=text)
    if new_date is not None:
        _apply(
            session,
            actor,
            inst,
            "planned",
            reason=f"new date {new_date.isoformat()}" + (f" {new_slot}" if new_slot else ""),
            new_date=new_date,
            new_slot=new_slot,
        )
    _audit_change(session, actor, inst, "installation.reschedule", before, text)
    return InstallationDTO.from_row(inst)


def cancel(
    session: Session, actor: Actor, *, installation_id: uuid.UUID, reason: str
) -> InstallationDTO:
    """Cancel an open installation with a reason (max 300 characters); teams are released.

    The lead keeps its status (the planner decides whether to cancel the lead too).

    Raises:
        PermissionDenied: without ``installation.cancel``.
        NotFound: unknown installation.
        TransitionError: already closed or cancelled, or blank reason.
        ValidationError: reason too long.
    """
    require(actor, "installation.cancel")
    inst = _load(session, installation_id)
    text = _clean_text(reason, "reason", MAX_REASON)
    before = _snapshot(inst)
    _apply(session, actor, inst, "cancelled", reason=text)
    _audit_change(session, actor, inst, "installation.cancel", before, text)
    return InstallationDTO.from_row(inst)


def record_customer_confirmation(
    session: Session,
    actor: Actor,
    *,
    installation_id: uuid.UUID,
    outcome: str,
    notes: str | None = None,
) -> InstallationDTO:
    """Record the pre-installation confirmation call (who, when, outcome, notes).

    ``confirmed`` sets ``customer_confirmed`` with ``confirmed_at``/``confirmed_by``;
    ``declined`` clears them (the job needs rescheduling); ``no_answer`` changes no flag.
    The call is kept as the audit event ``installation.confirmation_call`` (outcome, notes),
    which the timeline shows; no status changes.

    Raises:
        PermissionDenied: without ``installation.confirm_call`` (planners and admins)
            (confirmation calls are made by the planners).
        NotFound: unknown installation.
        ValidationError: unknown outcome, notes longer than 500 characters.
        TransitionError: the installation is not in planned/material_pending/
            material_ready/confirmed.
    """
    require(actor, "installation.confirm_call")
    if outcome not in CONFIRMATION_OUTCOMES:
        raise ValidationError(
            {"outcome": f"unknown outcome {outcome!r}; use {', '.join(CONFIRMATION_OUTCOMES)}"}
        )
    text = _clean_text(notes, "notes", MAX_NOTES)
    inst = _load(session, installation_id)
    require_installation_month_open(session, inst)
    if inst.status not in CONFIRMABLE_STATUSES:
        raise TransitionError(
            f"{inst.ref} is {inst.status}: a confirmation call is recorded only while "
            f"{', '.join(CONFIRMABLE_STATUSES)}"
        )
    before = _snapshot(inst)
    if outcome == "confirmed":
        inst.customer_confirmed = True
        inst.confirmed_at = utcnow()
        inst.confirmed_by_id = actor.user_id
    elif outcome == "declined":
        inst.customer_confirmed = False
        inst.confirmed_at = None
        inst.confirmed_by_id = None
    session.flush()
    audit.record(
        session,
        actor,
        "installation.confirmation_call",
        entity_type="installation",
        entity_id=inst.id,
        before=before,
        after={**_snapshot(inst), "outcome": outcome, "notes": text},
    )
    session.flush()
    return InstallationDTO.from_row(inst)


def set_demo_completed(
    session: Session, actor: Actor, *, installation_id: uuid.UUID, done: bool = True
) -> InstallationDTO:
    """Mark the customer demo done (or not); tracked, never blocking (seed 001).

    Allowed while in_progress, completed or report_submitted; by central_ops/admin, or a
    field engineer on their own team's job. Audits ``installation.demo``.

    Raises:
        PermissionDenied: without ``installation.transition``; field engineer of another team.
        NotFound: unknown installation.
        TransitionError: the installation is in another state.
    """
    require(actor, "installation.transition")
    inst = _load(session, installation_id)
    if actor.role == "field_engineer" and not is_own_team_job(session, actor, inst.id):
        raise PermissionDenied(f"installation {inst.ref} is not assigned to your team")
    require_installation_month_open(session, inst)
    if inst.status not in DEMO_STATUSES:
        raise TransitionError(
            f"{inst.ref} is {inst.status}: the demo is recorded only while "
            f"{', '.join(DEMO_STATUSES)}"
        )
    before = _snapshot(inst)
    inst.demo_completed = bool(done)
    session.flush()
    audit.record(
        session,
        actor,
        "installation.demo",
        entity_type="installation",
        entity_id=inst.id,
        before=before,
        after=_snapshot(inst),
    )
    session.flush()
    return InstallationDTO.from_row(inst)
