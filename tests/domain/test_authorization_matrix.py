"""Issue 6 item 1: the PERMISSIONS table drives every check, and every refusal is audited.

For EVERY permission of ``domain.permissions.PERMISSIONS`` and EVERY role, the real domain
command guarded by that permission is called through ``app.runtime.session_scope`` (the path
pages use) on a small demo world:

* a role the table allows never gets the table's ``PermissionDenied`` for that command (it may
  get another ``DomainError`` - NotFound, TransitionError... - from the minimal data);
* a role the table refuses gets ``PermissionDenied`` naming the command and the role, and one
  ``permission.denied`` audit row is committed although the command's transaction rolled back.

``COMMANDS`` must cover every key of the table: a new permission without an entry here fails.
Allowed calls are rolled back (a sentinel exception), so the world stays the same throughout.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import app.runtime as runtime
from db.engine import session_scope
from db.seed import seed_all
from db.types import utcnow
from domain import audit
from domain.accounts import queries as account_queries
from domain.accounts import service as accounts
from domain.accounts.dto import actor_for
from domain.accounts.models import AppUser, AuditEvent, FieldTeam, Oem
from domain.actor import ROLES, SYSTEM, Actor
from domain.errors import DomainError, PermissionDenied
from domain.installations import daily_log, dispatch, my_jobs, reports
from domain.installations import queries as inst_queries
from domain.installations import scheduling as inst_scheduling
from domain.installations import service as installations
from domain.installations.models import Installation, InstallationAssignment
from domain.jobs import queries as job_queries
from domain.kpi import queries as kpi_queries
from domain.leads import importer
from domain.leads import queries as lead_queries
from domain.leads import service as leads
from domain.leads.models import Lead
from domain.notifications import queries as notification_queries
from domain.notifications import service as notifications
from domain.permissions import PERMISSIONS
from domain.procurement import allocations, catalogue, requests, stock, stock_queries, vendors
from domain.procurement import queries as proc_queries
from domain.procurement.models import (
    Material,
    MaterialAllocation,
    MaterialStock,
    ProcurementRequest,
    Vendor,
)
from domain.reporting import months, pack_pdf, packs, queue
from domain.reporting import reports as report_svc
from domain.reporting.models import ClosurePack
from domain.service import queries as service_queries
from domain.service import service as service_calls
from domain.service.models import ServiceTicket, ServiceVisit
from domain.surveys import queries as survey_queries
from domain.surveys import service as surveys
from domain.surveys.models import Survey

W = dict[str, Any]
Command = Callable[[Session, Actor, W], Any]

TODAY = date(2026, 11, 20)
NEXT_WEEK = TODAY + timedelta(days=7)
HUGE = Decimal("99999999")


def _approve_above_limit(s: Session, a: Actor, w: W) -> Any:
    """An admin raises a request estimated above the limit; ``a`` approves it."""
    req = requests.create_request(
        s,
        w["admin"],
        installation_id=w["installation_id"],
        material_id=w["material_id"],
        quantity=1,
        estimated_cost=HUGE,
    )
    return requests.approve_request(s, a, request_id=req.id, estimated_cost=HUGE)


def _close_with_exceptions(s: Session, a: Actor, w: W) -> Any:
    """A past month goes in_review with no evidence link (a failing item); ``a`` closes it."""
    months.open_month(s, w["admin"], oem_id=w["oem_id"], month=w["past_month"])
    months.start_review(s, w["admin"], oem_id=w["oem_id"], month=w["past_month"])
    return months.close_month(s, a, oem_id=w["oem_id"], month=w["past_month"], reason="known")


COMMANDS: dict[str, Command] = {
    # accounts
    "user.create": lambda s, a, w: accounts.create_user(
        s,
        a,
        username="new.user",
        full_name="New User",
        email="new.user@chargeops.example.in",
        phone=None,
        role="manager",
        password="Kaveri-river-2026",
    ),
    "user.update": lambda s, a, w: accounts.update_user(
        s,
        a,
        user_id=w["target_user_id"],
        full_name="Renamed Person",
        email="renamed@chargeops.example.in",
        phone=None,
        role="manager",
    ),
    "user.deactivate": lambda s, a, w: accounts.deactivate_user(s, a, user_id=w["target_user_id"]),
    "user.reset_password": lambda s, a, w: accounts.reset_password(
        s, a, user_id=w["target_user_id"], new_password="Kaveri-river-2026"
    ),
    "user.reactivate": lambda s, a, w: accounts.reactivate_user(s, a, user_id=w["target_user_id"]),
    "user.lock": lambda s, a, w: accounts.lock_user(
        s, a, user_id=w["target_user_id"], reason="lost phone"
    ),
    "user.unlock": lambda s, a, w: accounts.unlock_user(s, a, user_id=w["target_user_id"]),
    "user.change_own_password": lambda s, a, w: accounts.change_own_password(
        s, a, current_password="wrong", new_password="Kaveri-river-2026"
    ),
    "user.list": lambda s, a, w: account_queries.list_users(s, a),
    "audit.read": lambda s, a, w: audit.list_events(s, a, limit=5),
    # leads
    "lead.read": lambda s, a, w: lead_queries.list_leads(s, a),
    "lead.create": lambda s, a, w: leads.create_lead(
        s,
        a,
        oem_id=w["oem_id"],
        oem_lead_ref="MATRIX-1",
        customer_name="Matrix Customer",
        phone="9845012345",
        email="c@example.in",
        address="1 MG Road",
        city="Bengaluru",
        pincode="560001",
        vehicle_model="Nexon EV",
        requested_charger_type="7.2kW AC",
        received_at=utcnow(),
    ),
    "lead.import": lambda s, a, w: importer.import_leads(
        s, a, oem_id=w["oem_id"], filename="leads.csv", content=b"no,columns\n"
    ),
    "lead.cancel": lambda s, a, w: leads.cancel_lead(s, a, lead_id=w["lead_id"], reason="dup"),
    # surveys
    "survey.read": lambda s, a, w: survey_queries.get_survey(s, a, w["survey_id"]),
    "survey.schedule": lambda s, a, w: surveys.schedule_survey(
        s, a, lead_id=w["lead_id"], team_id=w["team_id"], survey_date=NEXT_WEEK, time_slot="09-12"
    ),
    "survey.cancel": lambda s, a, w: surveys.cancel_survey(
        s, a, survey_id=w["survey_id"], reason="customer away"
    ),
    "survey.record_report": lambda s, a, w: surveys.record_survey_report(
        s,
        a,
        survey_id=w["survey_id"],
        site_type="independent_house",
        parking="covered",
        meter_distance_m=10,
        sanctioned_load_kw=5,
        earthing_ok=True,
        recommended_charger_id=None,
        cable_length_m=12,
        load_enhancement_needed=False,
        notes=None,
        lines=[],
    ),
    "survey.submit": lambda s, a, w: surveys.submit_survey(s, a, survey_id=w["survey_id"]),
    "survey.review": lambda s, a, w: surveys.review_survey(
        s, a, survey_id=w["survey_id"], approve=True, notes="ok"
    ),
    # installations
    "installation.read": lambda s, a, w: inst_queries.get_installation(s, a, w["installation_id"]),
    "installation.create": lambda s, a, w: installations.create_installation(
        s, a, survey_id=w["survey_id"]
    ),
    "installation.transition": lambda s, a, w: installations.transition(
        s, a, installation_id=w["installation_id"], to_status="in_progress"
    ),
    "installation.reschedule": lambda s, a, w: installations.reschedule(
        s, a, installation_id=w["installation_id"], reason="rain", new_date=NEXT_WEEK
    ),
    "installation.cancel": lambda s, a, w: installations.cancel(
        s, a, installation_id=w["installation_id"], reason="customer cancelled"
    ),
    "installation.confirm_call": lambda s, a, w: installations.record_customer_confirmation(
        s, a, installation_id=w["installation_id"], outcome="confirmed"
    ),
    "installation.assign": lambda s, a, w: inst_scheduling.book(
        s,
        a,
        installation_id=w["installation_id"],
        work_date=NEXT_WEEK,
        time_slot="09-12",
        team_id=w["team_id"],
    ),
    "team.mark_unavailable": lambda s, a, w: inst_scheduling.mark_team_unavailable(
        s, a, team_id=w["team_id"], from_date=NEXT_WEEK, to_date=NEXT_WEEK, reason="leave"
    ),
    "team_log.record": lambda s, a, w: daily_log.record_daily_log(
        s, a, team_id=w["team_id"], log_date=TODAY, day_type="work", jobs_done=1
    ),
    "team_log.read": lambda s, a, w: daily_log.list_daily_logs(s, a, team_id=w["team_id"]),
    # service calls
    "service.read": lambda s, a, w: service_queries.list_tickets(s, a),
    "service_ticket.create": lambda s, a, w: service_calls.open_ticket(
        s,
        a,
        installation_id=w["closed_installation_id"],
        contact="Customer",
        contact_phone="9845012345",
        fault_reported_date=TODAY,
        nature_of_fault="no power",
        equipment_details=None,
        maintenance=False,
        notes=None,
    ),
    "service_ticket.update": lambda s, a, w: service_calls.update_ticket(
        s, a, ticket_id=w["ticket_id"], notes="called back"
    ),
    "service_ticket.invoice": lambda s, a, w: service_calls.record_invoice(
        s, a, ticket_id=w["ticket_id"], received_date=TODAY
    ),
    "service_ticket.resolve": lambda s, a, w: service_calls.resolve_ticket(
        s, a, ticket_id=w["ticket_id"], resolved_date=TODAY, customer_satisfied=True
    ),
    "service_ticket.close": lambda s, a, w: service_calls.close_ticket(
        s, a, ticket_id=w["ticket_id"]
    ),
    "service_ticket.cancel": lambda s, a, w: service_calls.cancel_ticket(
        s, a, ticket_id=w["ticket_id"], reason="duplicate"
    ),
    "service_visit.book": lambda s, a, w: service_calls.book_visit(
        s,
        a,
        ticket_id=w["ticket_id"],
        visit_date=NEXT_WEEK,
        time_slot="09-12",
        team_id=w["team_id"],
    ),
    "service_visit.cancel": lambda s, a, w: service_calls.cancel_visit(
        s, a, visit_id=w["visit_id"], reason="rain"
    ),
    "service_visit.complete": lambda s, a, w: service_calls.complete_visit(
        s, a, visit_id=w["visit_id"]
    ),
    # procurement
    "material.read": lambda s, a, w: proc_queries.list_materials(s, a),
    "material.manage": lambda s, a, w: catalogue.create_material(
        s, a, sku="MATRIX-1", name="Matrix cable", category="cable", unit="m"
    ),
    "stock.read": lambda s, a, w: stock_queries.stock_by_zone(s, a, zone_id=w["zone_id"]),
    "stock.adjust": lambda s, a, w: stock.adjust_stock(
        s,
        a,
        stock_id=w["stock_id"],
        expected_version=w["stock_version"],
        quantity_available=5,
        reason="count",
    ),
    "stock.receive": lambda s, a, w: stock.receive_stock(
        s, a, material_id=w["material_id"], zone_id=w["zone_id"], quantity=3, reason="delivery"
    ),
    "allocation.read": lambda s, a, w: stock_queries.list_allocations(
        s, a, installation_id=w["installation_id"]
    ),
    "allocation.allocate": lambda s, a, w: allocations.allocate_installation(
        s, a, installation_id=w["installation_id"]
    ),
    "allocation.dispatch": lambda s, a, w: allocations.dispatch(
        s, a, allocation_id=w["allocation_id"]
    ),
    "allocation.deliver": lambda s, a, w: allocations.deliver(
        s, a, allocation_id=w["allocation_id"]
    ),
    "allocation.return": lambda s, a, w: allocations.return_allocation(
        s, a, allocation_id=w["allocation_id"], reason="surplus"
    ),
    "procurement_request.read": lambda s, a, w: proc_queries.list_requests(s, a),
    "procurement_request.create": lambda s, a, w: requests.create_request(
        s, a, installation_id=w["installation_id"], material_id=w["material_id"], quantity=1
    ),
    "procurement_request.approve": lambda s, a, w: requests.approve_request(
        s, a, request_id=w["request_id"], estimated_cost="100"
    ),
    "procurement_request.approve_above_limit": _approve_above_limit,
    "procurement_request.order": lambda s, a, w: requests.order_request(
        s, a, request_id=w["request_id"]
    ),
    "procurement_request.receive": lambda s, a, w: requests.receive_request(
        s, a, request_id=w["request_id"], actual_cost="100"
    ),
    "procurement_request.cancel": lambda s, a, w: requests.cancel_request(
        s, a, request_id=w["request_id"], reason="not needed"
    ),
    "vendor.read": lambda s, a, w: proc_queries.list_vendors(s, a),
    "vendor.manage": lambda s, a, w: vendors.update_vendor(
        s, a, vendor_id=w["vendor_id"], name="Renamed Vendor", phone="9845012345", zone_id=None
    ),
    # closure packs
    "closure_pack.read": lambda s, a, w: packs.get_pack(s, a, w["pack_id"]),
    "closure_pack.compile": lambda s, a, w: packs.compile_pack(
        s, a, installation_id=w["installation_id"], data_dir=w["data_dir"]
    ),
    "closure_pack.submit": lambda s, a, w: packs.submit_pack(
        s, a, pack_id=w["pack_id"], data_dir=w["data_dir"]
    ),
    "closure_pack.record_response": lambda s, a, w: packs.record_oem_response(
        s, a, pack_id=w["pack_id"], response="accepted"
    ),
    "closure_pack.add_evidence": lambda s, a, w: packs.add_pack_evidence(
        s,
        a,
        pack_id=w["pack_id"],
        evidence="site_photo",
        data=b"not an image",
        filename="x.jpg",
        data_dir=w["data_dir"],
    ),
    "closure_pack.confirm_call": lambda s, a, w: packs.record_confirmation_call(
        s, a, pack_id=w["pack_id"], outcome="confirmed"
    ),
    # month closure
    "month.read": lambda s, a, w: months.list_months(s, a, oem_id=w["oem_id"]),
    "month.review": lambda s, a, w: months.start_review(
        s, a, oem_id=w["oem_id"], month=w["past_month"]
    ),
    "month.close": lambda s, a, w: months.close_month(
        s, a, oem_id=w["oem_id"], month=w["past_month"]
    ),
    "month.close_with_exceptions": _close_with_exceptions,
    "month.invoice": lambda s, a, w: months.mark_invoiced(
        s, a, oem_id=w["oem_id"], month=w["past_month"]
    ),
    "month.reopen": lambda s, a, w: months.reopen_month(
        s, a, oem_id=w["oem_id"], month=w["past_month"], reason="correction"
    ),
    # reports
    "report.read": lambda s, a, w: report_svc.list_reports(s, a, report_type="weekly"),
    "report.compile": lambda s, a, w: queue.request_report(
        s, a, report_type="weekly", oem_id=w["oem_id"], period_start=w["past_monday"]
    ),
    "report.submit": lambda s, a, w: report_svc.submit_report(
        s, a, report_type="weekly", report_id=uuid.uuid4()
    ),
    "report.acknowledge": lambda s, a, w: report_svc.acknowledge_report(
        s, a, report_type="weekly", report_id=uuid.uuid4()
    ),
    "report_request.read": lambda s, a, w: queue.list_requests(s, a),
    # dashboards, notifications, scheduler
    "kpi.read": lambda s, a, w: kpi_queries.overview(s, a, today=TODAY),
    "notification.read": lambda s, a, w: notification_queries.inbox(s, a),
    "job_run.read": lambda s, a, w: job_queries.recent_job_runs(s, a, 5),
}

# A command whose refusal may come from the permission checked before it.
PREREQUISITE = {
    "procurement_request.approve_above_limit": "procurement_request.approve",
    "month.close_with_exceptions": "month.close",
}

# Extra entry points guarded by the same permissions (list, detail, export, PDF): refused
# roles must be refused by each of them too.
MORE_READS: dict[str, list[Command]] = {
    "lead.read": [lambda s, a, w: lead_queries.get_lead(s, a, w["lead_id"])],
    "installation.read": [
        lambda s, a, w: inst_queries.list_installations(s, a),
        lambda s, a, w: dispatch.board(s, a, week_start=w["past_monday"]),
        lambda s, a, w: my_jobs.my_jobs(s, a, date_from=TODAY, date_to=NEXT_WEEK),
        lambda s, a, w: reports.get_report(s, a, w["installation_id"]),
    ],
    "closure_pack.read": [
        lambda s, a, w: packs.list_packs(s, a),
        lambda s, a, w: pack_pdf.pack_pdf_bytes(s, a, pack_id=w["pack_id"], data_dir=w["data_dir"]),
    ],
    "report.read": [
        lambda s, a, w: report_svc.report_pdf(s, a, report_type="weekly", report_id=uuid.uuid4()),
    ],
    "procurement_request.read": [lambda s, a, w: proc_queries.requests_export_rows(s, a)],
    "service.read": [lambda s, a, w: service_queries.get_ticket(s, a, w["ticket_id"])],
    "notification.read": [
        lambda s, a, w: notifications.mark_read(s, a, notification_id=uuid.uuid4())
    ],
}


def test_commands_cover_every_permission() -> None:
    assert set(COMMANDS) == set(PERMISSIONS), (
        f"missing: {sorted(set(PERMISSIONS) - set(COMMANDS))}; "
        f"unknown: {sorted(set(COMMANDS) - set(PERMISSIONS))}"
    )
    assert set(MORE_READS) <= set(PERMISSIONS)
    for command, roles in PERMISSIONS.items():
        assert roles <= set(ROLES), command
        assert "admin" in roles, f"{command}: admins may do everything"


class _Rollback(Exception):
    """Raised after an allowed command so its changes are rolled back."""


def _first(s: Session, stmt: Any) -> Any:
    value = s.execute(stmt.limit(1)).scalar()
    assert value is not None, f"the demo world lacks: {stmt}"
    return value


def _world(engine: Engine, data_dir: Path) -> tuple[W, dict[str, Actor]]:
    seed_all(engine, seed=7, scale=0.03, today=TODAY)
    w: W = {"data_dir": data_dir}
    with session_scope(engine) as s:
        actors: dict[str, Actor] = {}
        for role in ROLES:
            user = _first(
                s,
                select(AppUser).where(AppUser.role == role).order_by(AppUser.username),
            )
            actors[role] = actor_for(user)
        fe = actors["field_engineer"]
        w["admin"] = actors["admin"]
        w["team_id"] = fe.team_id
        w["zone_id"] = s.get(FieldTeam, fe.team_id).zone_id
        w["oem_id"] = actors["oem_viewer"].oem_id
        w["target_user_id"] = _first(
            s,
            select(AppUser.id).where(AppUser.role == "procurement", AppUser.id != fe.user_id),
        )
        w["lead_id"] = _first(s, select(Lead.id).where(Lead.oem_id == w["oem_id"]))
        w["survey_id"] = _first(
            s, select(Survey.id).where(Survey.team_id == w["team_id"]).order_by(Survey.ref)
        )
        team_jobs = (
            select(Installation.id)
            .join(InstallationAssignment, InstallationAssignment.installation_id == Installation.id)
            .where(InstallationAssignment.team_id == w["team_id"])
        )
        w["installation_id"] = s.execute(
            team_jobs.where(Installation.status != "closed").limit(1)
        ).scalar() or _first(s, team_jobs)
        w["closed_installation_id"] = _first(
            s, select(Installation.id).where(Installation.status == "closed")
        )
        w["pack_id"] = _first(s, select(ClosurePack.id).order_by(ClosurePack.status))
        w["ticket_id"] = _first(s, select(ServiceTicket.id))
        w["visit_id"] = _first(s, select(ServiceVisit.id))
        stock_row = s.execute(select(MaterialStock).limit(1)).scalar_one()
        w["stock_id"], w["stock_version"] = stock_row.id, stock_row.version
        w["material_id"] = _first(
            s, select(Material.id).where(Material.category != "charger").order_by(Material.sku)
        )
        w["vendor_id"] = _first(s, select(Vendor.id))
        w["request_id"] = _first(s, select(ProcurementRequest.id))
        w["allocation_id"] = _first(s, select(MaterialAllocation.id))
        first_of_month = TODAY.replace(day=1)
        w["past_month"] = (first_of_month - timedelta(days=1)).replace(day=1)
        w["past_monday"] = TODAY - timedelta(days=TODAY.weekday() + 7)
        assert s.get(Oem, w["oem_id"]) is not None
    return w, actors


def _refusals(engine: Engine, actor: Actor, command: str | None) -> int:
    with session_scope(engine, readonly=True) as s:
        return s.execute(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == audit.REFUSAL_ACTION,
                AuditEvent.actor_username == actor.username,
                AuditEvent.entity_id == command
                if command is not None
                else AuditEvent.entity_id.is_(None),
            )
        ).scalar_one()


def _call(fn: Command, actor: Actor, w: W) -> PermissionDenied | DomainError | None:
    """Run ``fn`` through the pages' session_scope; roll an allowed call back."""
    try:
        with runtime.session_scope() as s:
            fn(s, actor, w)
            raise _Rollback
    except _Rollback:
        return None
    except DomainError as exc:  # PermissionDenied included
        return exc


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "PASSWORD_HASH_ROUNDS", 4)


def _refusal_count(engine: Engine, actor: Actor, command: str) -> int:
    names = [command] + ([PREREQUISITE[command]] if command in PREREQUISITE else [])
    return sum(_refusals(engine, actor, name) for name in names)


def test_every_command_for_every_role(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk: allowed as the table says, refused as the table says, every refusal audited
    (one committed ``permission.denied`` row naming actor, command and role) while the refused
    command's own changes are rolled back."""
    monkeypatch.setattr(runtime, "get_engine", lambda: engine)
    w, actors = _world(engine, tmp_path / "data")
    problems: list[str] = []
    checked = refused = scoped = 0
    for command, fn in COMMANDS.items():
        entry_points = [fn, *MORE_READS.get(command, [])]
        for role in ROLES:
            actor = actors[role]
            allowed = role in PERMISSIONS[command]
            for i, entry in enumerate(entry_points):
                where = f"{command}[{i}] as {role}"
                before = 0 if allowed else _refusal_count(engine, actor, command)
                exc = _call(entry, actor, w)
                checked += 1
                denied = isinstance(exc, PermissionDenied)
                if allowed:
                    if denied and exc.command == command:
                        problems.append(f"{where}: allowed by the table but refused: {exc}")
                    elif denied:  # a data-scope refusal (not your team...): audited too
                        scoped += 1
                    continue
                if not denied:
                    problems.append(f"{where}: refused by the table but got {exc!r}")
                    continue
                refused += 1
                if exc.command not in {command, PREREQUISITE.get(command)} or exc.role != role:
                    problems.append(f"{where}: refusal names {exc.command}/{exc.role}")
                audited = _refusal_count(engine, actor, command) - before
                if audited != 1:
                    problems.append(f"{where}: {audited} permission.denied rows, not 1")
    assert not problems, "\n".join(problems)
    assert checked >= len(PERMISSIONS) * len(ROLES)
    expected_refusals = sum(
        (len(ROLES) - len(roles)) * (1 + len(MORE_READS.get(c, [])))
        for c, roles in PERMISSIONS.items()
    )
    assert refused == expected_refusals

    with session_scope(engine, readonly=True) as s:
        rows = [
            (e.entity_type, e.entity_id, e.actor_id, e.after)
            for e in s.execute(
                select(AuditEvent).where(AuditEvent.action == audit.REFUSAL_ACTION)
            ).scalars()
        ]
        # allowed calls were rolled back: the admin's vendor rename is not there
        renamed = s.execute(
            select(func.count()).select_from(Vendor).where(Vendor.name == "Renamed Vendor")
        ).scalar_one()
    assert renamed == 0
    assert len(rows) == refused + scoped
    kind, command, actor_id, after = next(r for r in rows if r[1] == "user.create")
    assert kind == "permission" and actor_id is not None
    assert after["command"] == "user.create" and after["role"] in set(ROLES) - {"admin"}


def test_data_scope_refusals_are_audited_too(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refusal that is not the table's (a system actor changing 'its' password) is audited
    with no command; scripts use ``audit.record_refusal`` directly."""
    monkeypatch.setattr(runtime, "get_engine", lambda: engine)
    with pytest.raises(PermissionDenied) as caught, runtime.session_scope() as s:
        accounts.change_own_password(
            s, SYSTEM, current_password="x", new_password="Kaveri-river-2026"
        )
    assert caught.value.command is None and caught.value.role == "admin"
    assert _refusals(engine, SYSTEM, None) == 1

    outsider = Actor(user_id=None, username="script", role="field_engineer")
    exc = PermissionDenied("no", command="user.create", role="field_engineer")
    assert audit.record_refusal(engine, outsider, exc) is True
    assert _refusals(engine, outsider, "user.create") == 1
