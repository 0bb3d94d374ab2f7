"""Installation reads for the Installations page: a filtered, paginated list, one
installation's detail with its timeline and the actions open to the actor, and the approved
surveys still waiting for an installation.

Isolation: an ``oem_viewer`` sees only its own OEM's installations (``lead.oem_id``); a
``field_engineer`` only the jobs their team holds an active assignment on. Anything outside
the actor's scope is reported as ``NotFound`` so ids cannot be probed.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from domain.accounts.models import AppUser, AuditEvent, FieldTeam, Oem, Zone
from domain.actor import Actor
from domain.errors import NotFound, TransitionError, ValidationError
from domain.installations.dto import (
    ApprovedSurvey,
    AssignmentInfo,
    InstallationDetail,
    InstallationDTO,
    InstallationPage,
    InstallationRow,
    ReportSummary,
    TimelineEntry,
)
from domain.installations.lifecycle import (
    InstallationState,
    TransitionContext,
    allowed_transitions,
    check_transition,
)
from domain.installations.models import (
    INSTALLATION_STATUSES,
    Installation,
    InstallationAssignment,
    InstallationReport,
    InstallationStatusChange,
)
from domain.installations.service import (
    CONFIRMABLE_STATUSES,
    DEMO_STATUSES,
    FIELD_ENGINEER_TARGETS,
    transition_permission,
)
from domain.leads.models import Lead
from domain.paging import check_date_range, check_page, matches_any
from domain.permissions import can, require
from domain.procurement.models import Material
from domain.surveys.models import Survey


def _own_team_clause(team_id: uuid.UUID) -> Any:
    return exists().where(
        InstallationAssignment.installation_id == Installation.id,
        InstallationAssignment.team_id == team_id,
        InstallationAssignment.released_at.is_(None),
    )


def _scope_conditions(actor: Actor) -> list[Any] | None:
    """SQL conditions confining the actor; None when the actor can see nothing."""
    conditions: list[Any] = []
    if actor.role == "oem_viewer":
        if actor.oem_id is None:
            return None
        conditions.append(Lead.oem_id == actor.oem_id)
    if actor.role == "field_engineer":
        if actor.team_id is None:
            return None
        conditions.append(_own_team_clause(actor.team_id))
    return conditions


def list_installations(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    zone_id: uuid.UUID | None = None,
    oem_id: uuid.UUID | None = None,
    team_id: uuid.UUID | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    search: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> InstallationPage:
    """One page of installations, latest scheduled date first (unscheduled last), with the
    total matching the filters (LIMIT/OFFSET plus one COUNT in SQL).

    Args:
        status: one of ``INSTALLATION_STATUSES``; zone_id/oem_id: the lead's zone/OEM;
        team_id: installations with an active assignment of that team.
        date_from / date_to: scheduled date range, both inclusive (local dates).
        search: case-insensitive substring of the installation ref, lead ref, customer name,
            phone or city.
        page: 1-based; page_size: 1..500.

    Returns:
        ``InstallationPage``; an oem_viewer gets only its OEM, a field engineer only their
        team's jobs (an empty page if they have no OEM/team).

    Raises:
        PermissionDenied: without ``installation.read``.
        ValidationError: unknown status, bad page/page_size, date_from after date_to.
    """
    require(actor, "installation.read")
    if status is not None and status not in INSTALLATION_STATUSES:
        raise ValidationError({"status": f"unknown status {status!r}"})
    check_page(page, page_size)
    check_date_range(date_from, date_to)
    conditions = _scope_conditions(actor)
    if conditions is None:
        return InstallationPage(rows=(), total=0, page=page, page_size=page_size)
    if status is not None:
        conditions.append(Installation.status == status)
    if zone_id is not None:
        conditions.append(Lead.zone_id == zone_id)
    if oem_id is not None:
        conditions.append(Lead.oem_id == oem_id)
    if team_id is not None:
        conditions.append(_own_team_clause(team_id))
    if date_from is not None:
        conditions.append(Installation.scheduled_date >= date_from)
    if date_to is not None:
        conditions.append(Installation.scheduled_date <= date_to)
    found = matches_any(
        search, (Installation.ref, Lead.ref, Lead.customer_name, Lead.phone, Lead.city)
    )
    if found is not None:
        conditions.append(found)

    total = session.execute(
        select(func.count(Installation.id))
        .join(Lead, Lead.id == Installation.lead_id)
        .where(*conditions)
    ).scalar_one()
    primary_team = (
        select(FieldTeam.code)
        .join(InstallationAssignment, InstallationAssignment.team_id == FieldTeam.id)
        .where(
            InstallationAssignment.installation_id == Installation.id,
            InstallationAssignment.released_at.is_(None),
        )
        .order_by(InstallationAssignment.role.desc(), InstallationAssignment.assigned_at)
        .limit(1)
        .correlate(Installation)
        .scalar_subquery()
    )
    stmt = (
        select(
            Installation.id,
            Installation.ref,
            Installation.status,
            Installation.scheduled_date,
            Installation.time_slot,
            Lead.ref,
            Lead.customer_name,
            Lead.city,
            Oem.code,
            Zone.name,
            primary_team,
            Installation.material_ready,
            Installation.customer_confirmed,
            Installation.completed_at,
        )
        .join(Lead, Lead.id == Installation.lead_id)
        .join(Oem, Oem.id == Lead.oem_id)
        .join(Zone, Zone.id == Lead.zone_id)
        .where(*conditions)
        .order_by(
            Installation.scheduled_date.is_(None),
            Installation.scheduled_date.desc(),
            Installation.ref.desc(),
        )
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    rows = tuple(InstallationRow(*r) for r in session.execute(stmt).all())
    return InstallationPage(rows=rows, total=total, page=page, page_size=page_size)


def _actions_for(
    session: Session, actor: Actor, inst: Installation, report: tuple[str, Any] | None
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """(allowed, blocked) actions of the actor on ``inst``; see ``InstallationDetail``."""
    own_team = False
    if actor.role == "field_engineer" and actor.team_id is not None:
        own_team = any(
            True
            for _ in session.execute(
                select(InstallationAssignment.id).where(
                    InstallationAssignment.installation_id == inst.id,
                    InstallationAssignment.team_id == actor.team_id,
                    InstallationAssignment.released_at.is_(None),
                )
            )
        )
    state = InstallationState(
        ref=inst.ref,
        status=inst.status,
        material_ready=bool(inst.material_ready),
        customer_confirmed=bool(inst.customer_confirmed),
        scheduled_date=inst.scheduled_date,
    )
    ctx = TransitionContext(
        reason="(asked in the form)",
        report_serial=report[0] if report else None,
        report_model_id=report[1] if report else None,
        new_date=date.max,  # the page asks for the new date
    )
    allowed: list[str] = []
    blocked: list[tuple[str, str]] = []
    for target in allowed_transitions(inst.status):
        if not can(actor, transition_permission(target)):
            continue
        if actor.role == "field_engineer" and (
            not own_team or target not in FIELD_ENGINEER_TARGETS
        ):
            continue
        try:
            check_transition(state, target, ctx)
        except TransitionError as e:
            blocked.append((target, str(e)))
        else:
            allowed.append(target)
    if (
        can(actor, "installation.transition")
        and actor.role != "field_engineer"
        and inst.status in CONFIRMABLE_STATUSES
    ):
        allowed.append("confirmation_call")
    if (
        can(actor, "installation.transition")
        and (actor.role != "field_engineer" or own_team)
        and inst.status in DEMO_STATUSES
    ):
        allowed.append("demo")
    return tuple(allowed), tuple(blocked)


def get_installation(
    session: Session, actor: Actor, installation_id: uuid.UUID
) -> InstallationDetail:
    """One installation with customer, survey, teams, report summary, timeline and actions.

    ``timeline``: every status change (from, to, who, reason) and every confirmation call
    (outcome, who, notes), oldest first.

    Raises:
        PermissionDenied: without ``installation.read``.
        NotFound: no such installation, or outside the actor's scope (another OEM for an
            oem_viewer, another team's job for a field engineer).
    """
    require(actor, "installation.read")
    conditions = _scope_conditions(actor)
    if conditions is None:
        raise NotFound("installation not found")
    found = session.execute(
        select(
            Installation,
            Lead.ref,
            Lead.customer_name,
            Lead.phone,
            Lead.address,
            Lead.city,
            Lead.pincode,
            Lead.status,
            Oem.code,
            Oem.name,
            Zone.name,
            Survey.ref,
            Survey.survey_date,
        )
        .join(Lead, Lead.id == Installation.lead_id)
        .join(Oem, Oem.id == Lead.oem_id)
        .join(Zone, Zone.id == Lead.zone_id)
        .join(Survey, Survey.id == Installation.survey_id)
        .where(Installation.id == installation_id, *conditions)
    ).first()
    if found is None:
        raise NotFound("installation not found")
    inst = found[0]
    (
        lead_ref,
        customer,
        phone,
        address,
        city,
        pincode,
        lead_status,
        oem_code,
        oem_name,
        zone_name,
        survey_ref,
        survey_date,
    ) = found[1:]

    assignments = tuple(
        AssignmentInfo(*r)
        for r in session.execute(
            select(
                FieldTeam.id,
                FieldTeam.code,
                FieldTeam.name,
                InstallationAssignment.role,
                InstallationAssignment.work_date,
                InstallationAssignment.time_slot,
                InstallationAssignment.assigned_at,
                InstallationAssignment.released_at,
                InstallationAssignment.reason,
            )
            .join(FieldTeam, FieldTeam.id == InstallationAssignment.team_id)
            .where(InstallationAssignment.installation_id == inst.id)
            .order_by(InstallationAssignment.assigned_at)
        )
    )

    report_row = session.execute(
        select(
            InstallationReport.charger_serial,
            InstallationReport.charger_model_id,
            Material.name,
            InstallationReport.success,
            InstallationReport.issues,
            InstallationReport.demo_done,
            InstallationReport.demo_signed_off,
            InstallationReport.signature_media_id,
            InstallationReport.submitted_at,
        )
        .join(Material, Material.id == InstallationReport.charger_model_id)
        .where(InstallationReport.installation_id == inst.id)
    ).first()
    report = None
    if report_row is not None:
        report = ReportSummary(
            charger_serial=report_row[0],
            charger_model=report_row[2],
            success=bool(report_row[3]),
            issues=report_row[4],
            demo_done=bool(report_row[5]),
            demo_signed_off=bool(report_row[6]),
            has_signature=report_row[7] is not None,
            submitted_at=report_row[8],
        )

    user = aliased(AppUser)
    changes = session.execute(
        select(
            InstallationStatusChange.created_at,
            InstallationStatusChange.from_status,
            InstallationStatusChange.to_status,
            func.coalesce(user.username, "system"),
            InstallationStatusChange.reason,
        )
        .outerjoin(user, user.id == InstallationStatusChange.changed_by_id)
        .where(InstallationStatusChange.installation_id == inst.id)
    ).all()
    calls = session.execute(
        select(AuditEvent.created_at, AuditEvent.actor_username, AuditEvent.after).where(
            and_(
                AuditEvent.entity_type == "installation",
                AuditEvent.entity_id == str(inst.id),
                AuditEvent.action == "installation.confirmation_call",
            )
        )
    ).all()
    entries = [
        TimelineEntry(at, "status", frm, to, None, who, reason)
        for at, frm, to, who, reason in changes
    ] + [
        TimelineEntry(
            at,
            "confirmation_call",
            None,
            None,
            (after or {}).get("outcome"),
            who,
            (after or {}).get("notes"),
        )
        for at, who, after in calls
    ]
    # Status changes of one command share a timestamp; keep lifecycle order for ties.
    order = {s: i for i, s in enumerate(INSTALLATION_STATUSES)}
    entries.sort(key=lambda e: (e.at, e.kind != "status", order.get(e.from_status or "", -1)))

    allowed, blocked = _actions_for(
        session, actor, inst, (report_row[0], report_row[1]) if report_row else None
    )
    return InstallationDetail(
        installation=InstallationDTO.from_row(inst),
        lead_ref=lead_ref,
        customer_name=customer,
        phone=phone,
        address=address,
        city=city,
        pincode=pincode,
        lead_status=lead_status,
        oem_code=oem_code,
        oem_name=oem_name,
        zone_name=zone_name,
        survey_ref=survey_ref,
        survey_date=survey_date,
        assignments=assignments,
        report=report,
        timeline=tuple(entries),
        allowed_actions=allowed,
        blocked_actions=blocked,
    )


def list_approved_surveys_without_installation(
    session: Session, actor: Actor, *, limit: int = 200
) -> tuple[ApprovedSurvey, ...]:
    """Approved (``reviewed_approved``) surveys of non-cancelled leads with no installation
    yet, oldest survey first (at most ``limit``).

    Raises:
        PermissionDenied: without ``installation.create``.
    """
    require(actor, "installation.create")
    stmt = (
        select(
            Survey.id,
            Survey.ref,
            Survey.survey_date,
            Lead.ref,
            Lead.customer_name,
            Lead.city,
            Oem.code,
        )
        .join(Lead, Lead.id == Survey.lead_id)
        .join(Oem, Oem.id == Lead.oem_id)
        .where(
            Survey.status == "reviewed_approved",
            Lead.status != "cancelled",
            ~exists().where(Installation.survey_id == Survey.id),
        )
        .order_by(Survey.survey_date, Survey.ref)
        .limit(limit)
    )
    return tuple(ApprovedSurvey(*r) for r in session.execute(stmt).all())


def find_installation_id(session: Session, actor: Actor, ref: str) -> uuid.UUID:
    """The id of the installation with ref ``ref`` (``INS-2026-00001``), scoped like
    ``get_installation``.

    Raises:
        PermissionDenied: without ``installation.read``.
        NotFound: no such ref visible to the actor.
    """
    require(actor, "installation.read")
    conditions = _scope_conditions(actor)
    if conditions is None:
        raise NotFound(f"installation {ref} not found")
    found = session.execute(
        select(Installation.id)
        .join(Lead, Lead.id == Installation.lead_id)
        .where(Installation.ref == (ref or "").strip().upper(), *conditions)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"installation {ref} not found")
    return found
