"""Survey reads for the Surveys page: filtered list, one survey's detail, form options.

Isolation: an ``oem_viewer`` sees only surveys of its own OEM's leads and a field engineer
only its own team's surveys; anything else is reported as ``NotFound`` so ids cannot be probed.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from domain.accounts.models import AppUser, FieldTeam, Oem, Zone
from domain.actor import Actor
from domain.errors import NotFound, ValidationError
from domain.leads.models import Lead
from domain.paging import check_date_range, check_page
from domain.permissions import require
from domain.procurement.models import Material
from domain.surveys.dto import (
    LeadAwaitingSurvey,
    MaterialOption,
    ReportLine,
    SurveyDetail,
    SurveyDTO,
    SurveyPage,
    SurveyReportDTO,
    SurveyRow,
)
from domain.surveys.models import SURVEY_STATUSES, Survey, SurveyReport, SurveyReportLine
from domain.surveys.service import ACTIVE_SURVEY_STATUSES, OPEN_LEAD_STATUSES


def _scope(actor: Actor) -> list[Any] | None:
    """SQL conditions confining the actor, or None when the actor can see nothing."""
    if actor.role == "oem_viewer":
        return None if actor.oem_id is None else [Lead.oem_id == actor.oem_id]
    if actor.role == "field_engineer":
        return None if actor.team_id is None else [Survey.team_id == actor.team_id]
    return []


def list_surveys(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    team_id: uuid.UUID | None = None,
    zone_id: uuid.UUID | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    page_size: int = 50,
) -> SurveyPage:
    """One page of surveys, latest survey date first, with the total matching the filters.

    Args:
        zone_id: the lead's zone. date_from / date_to: survey dates (local), both inclusive.
        page: 1-based; page_size: 1..500 rows.

    Returns:
        ``SurveyPage``: LIMIT/OFFSET in SQL plus one COUNT. An ``oem_viewer`` sees only its
        OEM's surveys; a field engineer only its team's.

    Raises:
        PermissionDenied: without ``survey.read``.
        ValidationError: unknown status, page < 1, page_size out of range, from > to.
    """
    require(actor, "survey.read")
    if status is not None and status not in SURVEY_STATUSES:
        raise ValidationError({"status": f"unknown status {status!r}"})
    check_page(page, page_size)
    check_date_range(date_from, date_to)
    conditions = _scope(actor)
    if conditions is None:
        return SurveyPage(rows=(), total=0, page=page, page_size=page_size)
    if status is not None:
        conditions.append(Survey.status == status)
    if team_id is not None:
        conditions.append(Survey.team_id == team_id)
    if zone_id is not None:
        conditions.append(Lead.zone_id == zone_id)
    if date_from is not None:
        conditions.append(Survey.survey_date >= date_from)
    if date_to is not None:
        conditions.append(Survey.survey_date <= date_to)
    total = session.execute(
        select(func.count(Survey.id)).join(Lead, Lead.id == Survey.lead_id).where(*conditions)
    ).scalar_one()
    stmt = (
        select(
            Survey.id,
            Survey.ref,
            Lead.ref,
            Lead.customer_name,
            Oem.code,
            Zone.name,
            FieldTeam.code,
            Survey.survey_date,
            Survey.time_slot,
            Survey.status,
            Survey.completed_at,
        )
        .join(Lead, Lead.id == Survey.lead_id)
        .join(Oem, Oem.id == Lead.oem_id)
        .join(Zone, Zone.id == Lead.zone_id)
        .outerjoin(FieldTeam, FieldTeam.id == Survey.team_id)
        .where(*conditions)
        .order_by(Survey.survey_date.desc(), Survey.time_slot, Survey.ref.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    rows = tuple(SurveyRow(*r) for r in session.execute(stmt).all())
    return SurveyPage(rows=rows, total=int(total), page=page, page_size=page_size)


def _report(session: Session, survey_id: uuid.UUID) -> SurveyReportDTO | None:
    found = session.execute(
        select(SurveyReport, Material.name)
        .outerjoin(Material, Material.id == SurveyReport.recommended_charger_id)
        .where(SurveyReport.survey_id == survey_id)
    ).first()
    if found is None:
        return None
    report, charger_name = found
    lines = tuple(
        ReportLine(*r)
        for r in session.execute(
            select(
                SurveyReportLine.material_id,
                Material.sku,
                Material.name,
                Material.unit,
                SurveyReportLine.quantity,
            )
            .join(Material, Material.id == SurveyReportLine.material_id)
            .where(SurveyReportLine.survey_report_id == report.id)
            .order_by(Material.name)
        ).all()
    )
    return SurveyReportDTO(
        id=report.id,
        survey_id=report.survey_id,
        site_type=report.site_type,
        parking=report.parking,
        meter_distance_m=report.meter_distance_m,
        sanctioned_load_kw=report.sanctioned_load_kw,
        earthing_ok=report.earthing_ok,
        recommended_charger_id=report.recommended_charger_id,
        recommended_charger_name=charger_name,
        cable_length_m=report.cable_length_m,
        load_enhancement_needed=report.load_enhancement_needed,
        notes=report.notes,
        submitted_by_id=report.submitted_by_id,
        lines=lines,
    )


def get_survey(session: Session, actor: Actor, survey_id: uuid.UUID) -> SurveyDetail:
    """One survey with its lead (ref, customer, phone, address), team, reviewer and report
    (with material lines and names).

    Raises:
        PermissionDenied: without ``survey.read``.
        NotFound: no such survey, or one outside the actor's OEM (oem_viewer) or team
            (field engineer).
    """
    require(actor, "survey.read")
    conditions = _scope(actor)
    if conditions is None:
        raise NotFound("survey not found")
    found = session.execute(
        select(Survey, Lead, Oem.code, Zone.name, FieldTeam.code, FieldTeam.name, AppUser.username)
        .join(Lead, Lead.id == Survey.lead_id)
        .join(Oem, Oem.id == Lead.oem_id)
        .join(Zone, Zone.id == Lead.zone_id)
        .outerjoin(FieldTeam, FieldTeam.id == Survey.team_id)
        .outerjoin(AppUser, AppUser.id == Survey.reviewer_id)
        .where(Survey.id == survey_id, *conditions)
    ).first()
    if found is None:
        raise NotFound("survey not found")
    survey, lead, oem_code, zone_name, team_code, team_name, reviewer = found
    return SurveyDetail(
        survey=SurveyDTO.from_row(survey),
        lead_ref=lead.ref,
        lead_status=lead.status,
        customer_name=lead.customer_name,
        phone=lead.phone,
        address=lead.address,
        city=lead.city,
        pincode=lead.pincode,
        oem_code=oem_code,
        zone_id=lead.zone_id,
        zone_name=zone_name,
        team_code=team_code,
        team_name=team_name,
        reviewer_username=reviewer,
        report=_report(session, survey.id),
    )


def leads_awaiting_survey(
    session: Session, actor: Actor, *, zone_id: uuid.UUID | None = None, limit: int = 500
) -> tuple[LeadAwaitingSurvey, ...]:
    """Open leads with no active survey, oldest received first.

    Open: ``new`` or ``contacted``, or ``surveyed`` without an approved survey (a rejected
    survey in older data), as in ``schedule_survey``.

    Args:
        zone_id: only leads of this zone. limit: at most this many leads (1..5000).

    Raises:
        PermissionDenied: without ``survey.schedule`` (this feeds the scheduling form).
        ValidationError: ``limit`` out of range.
    """
    require(actor, "survey.schedule")
    if not 1 <= limit <= 5000:
        raise ValidationError({"limit": "limit must be 1..5000"})
    active = exists().where(
        and_(Survey.lead_id == Lead.id, Survey.status.in_(ACTIVE_SURVEY_STATUSES))
    )
    approved = exists().where(and_(Survey.lead_id == Lead.id, Survey.status == "reviewed_approved"))
    stmt = (
        select(
            Lead.id,
            Lead.ref,
            Lead.customer_name,
            Lead.city,
            Lead.pincode,
            Lead.zone_id,
            Zone.name,
            Oem.code,
            Lead.status,
            Lead.received_at,
        )
        .join(Zone, Zone.id == Lead.zone_id)
        .join(Oem, Oem.id == Lead.oem_id)
        .where(
            or_(
                Lead.status.in_(OPEN_LEAD_STATUSES),
                and_(Lead.status == "surveyed", ~approved),
            ),
            ~active,
        )
        .order_by(Lead.received_at, Lead.ref)
        .limit(limit)
    )
    if zone_id is not None:
        stmt = stmt.where(Lead.zone_id == zone_id)
    return tuple(LeadAwaitingSurvey(*r) for r in session.execute(stmt).all())


def _materials(session: Session, category: str | None) -> tuple[MaterialOption, ...]:
    stmt = (
        select(
            Material.id,
            Material.sku,
            Material.name,
            Material.category,
            Material.unit,
            Material.power_kw,
        )
        .where(Material.active.is_(True))
        .order_by(Material.name, Material.sku)
    )
    if category is not None:
        stmt = stmt.where(Material.category == category)
    return tuple(MaterialOption(*r) for r in session.execute(stmt).all())


def charger_options(session: Session) -> tuple[MaterialOption, ...]:
    """Active materials of category ``charger`` by name (power in kW), for the report form."""
    return _materials(session, "charger")


def material_options(session: Session) -> tuple[MaterialOption, ...]:
    """All active materials by name, for the report's recommended material lines."""
    return _materials(session, None)
