"""Service calls page (AppTest) on a temporary SQLite file database (fixture ``app_engine``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

import domain.models  # noqa: F401
from db.engine import session_scope
from db.types import utcnow
from domain.accounts.models import Oem, Zone
from domain.calendar import local_date
from domain.installations.models import Installation
from domain.leads.models import Lead
from domain.service.models import ServiceTicket, ServiceVisit
from domain.service.service import book_visit, open_ticket, resolve_ticket
from domain.surveys.models import Survey
from tests.factories import actor_of, make_oem, make_team, make_user, make_zone

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "service_calls.py")
TODAY = local_date(utcnow())
SLOT = "09-12"


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


def _installed(s, oem: Oem, zone: Zone, team_id, n: int) -> Installation:  # type: ignore[no-untyped-def]
    lead = Lead(
        ref=f"LEAD-2026-8{n:04d}",
        oem_id=oem.id,
        oem_lead_ref=f"PG-{n}",
        customer_name=f"Page Customer {n}",
        phone=f"+9198451{n:05d}",
        address=f"{n} Residency Road",
        city="Bengaluru",
        pincode="560025",
        zone_id=zone.id,
        received_at=datetime.now(UTC) - timedelta(days=120),
        status="closed",
        source="manual",
    )
    s.add(lead)
    s.flush()
    survey = Survey(
        ref=f"SUR-2026-8{n:04d}",
        lead_id=lead.id,
        team_id=team_id,
        survey_date=days(-100),
        time_slot=SLOT,
        status="reviewed_approved",
    )
    s.add(survey)
    s.flush()
    inst = Installation(
        ref=f"INS-2026-8{n:04d}",
        survey_id=survey.id,
        lead_id=lead.id,
        status="closed",
        install_level="standard",
        completed_at=datetime.combine(days(-60), time(6, 0), tzinfo=UTC),
    )
    s.add(inst)
    s.flush()
    return inst


@pytest.fixture
def world(app_engine: Engine) -> dict:
    with session_scope(app_engine) as s:
        zone = make_zone(s)
        oem = make_oem(s)
        t1 = make_team(s, zone, "BLR-T1")
        t2 = make_team(s, zone, "BLR-T2")
        insts = [_installed(s, oem, zone, t1.id, i) for i in range(1, 4)]
        ops = actor_of(make_user(s, "central_ops", "page-ops"))
        w = {
            "engine": app_engine,
            "inst_refs": [i.ref for i in insts],
            "ops": ops,
            "admin": actor_of(make_user(s, "admin", "page-admin")),
            "viewer": actor_of(make_user(s, "oem_viewer", "page-viewer", oem=oem)),
            "eng2": actor_of(make_user(s, "field_engineer", "page-eng2", zone=zone, team=t2)),
            "t1": t1.id,
        }
        base = {
            "contact": "Asha",
            "contact_phone": "9845011111",
            "equipment_details": None,
            "maintenance": False,
            "notes": None,
        }
        # A: fault 6 days ago, visit today by T1 (response 6), still scheduled.
        a = open_ticket(
            s,
            ops,
            installation_id=insts[0].id,
            fault_reported_date=days(-6),
            nature_of_fault="Charger trips",
            **base,
        )
        book_visit(s, ops, ticket_id=a.id, visit_date=days(0), time_slot=SLOT, team_id=t1.id)
        # B: fault 10 days ago, completed visit 8 days ago by T2 (response 2), resolved 6 days
        # ago (resolution 4).
        b = open_ticket(
            s,
            ops,
            installation_id=insts[1].id,
            fault_reported_date=days(-10),
            nature_of_fault="Display dead",
            **base,
        )
        s.add(
            ServiceVisit(
                service_ticket_id=b.id,
                visit_date=days(-8),
                time_slot=SLOT,
                team_id=t2.id,
                status="completed",
                completed_at=utcnow() - timedelta(days=8),
            )
        )
        s.flush()
        resolve_ticket(s, ops, ticket_id=b.id, resolved_date=days(-6), customer_satisfied=True)
        w["a_ref"], w["a_id"], w["b_ref"] = a.ref, a.id, b.ref
    return w


def _open(actor) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    return at.run()


def _table(at: AppTest):  # type: ignore[no-untyped-def]
    for df in at.dataframe:
        if "Nature of fault" in df.value.columns:
            return df.value
    raise AssertionError("no ticket table rendered")


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_list_and_metrics(world: dict) -> None:
    at = _open(world["admin"])
    assert not at.exception
    assert [t.value for t in at.title] == ["Service calls"]
    metrics = _metrics(at)
    assert metrics["Average response (days)"] == "4.0"  # (6 + 2) / 2
    assert metrics["Average resolution (days)"] == "4.0"  # B only
    assert metrics["Tickets"] == "2"
    table = _table(at)
    assert list(table["Ref"]) == [world["a_ref"], world["b_ref"]]
    assert list(table["Response (days)"]) == [6, 2]
    assert "id" not in table.columns
    # filter: resolved only
    at.selectbox(key="svc_f_status").select("resolved")
    at.button(key="svc_f_submit").click().run()
    assert not at.exception
    assert list(_table(at)["Ref"]) == [world["b_ref"]]


def test_open_ticket_through_the_form(world: dict) -> None:
    at = _open(world["ops"])
    at.text_input(key="svc_new_search").input("Page Customer 3").run()
    options = at.selectbox(key="svc_new_inst").options
    assert len(options) == 1 and world["inst_refs"][2] in options[0]
    at.selectbox(key="svc_new_inst").select(options[0])
    at.text_input(key="svc_new_contact").input("Ravi")
    at.text_input(key="svc_new_phone").input("12345")
    at.text_input(key="svc_new_nature").input("Cable burnt")
    at.button(key="svc_open_submit").click().run()
    assert not at.exception
    assert any("contact_phone" in e.value and "not a valid" in e.value for e in at.error)
    at.text_input(key="svc_new_phone").input("98450 22222")
    at.date_input(key="svc_new_fault_date").set_value(days(1))
    at.button(key="svc_open_submit").click().run()
    assert any("fault_reported_date" in e.value for e in at.error)
    at.date_input(key="svc_new_fault_date").set_value(days(-1))
    at.checkbox(key="svc_new_maintenance").check()
    at.button(key="svc_open_submit").click().run()
    assert not at.exception
    assert not at.error
    assert any("opened" in s.value for s in at.success)
    assert len(_table(at)) == 3
    with session_scope(world["engine"]) as s:
        row = s.execute(
            select(ServiceTicket).where(ServiceTicket.nature_of_fault == "Cable burnt")
        ).scalar_one()
        assert (row.contact, row.contact_phone, row.maintenance, row.status) == (
            "Ravi",
            "+919845022222",
            True,
            "open",
        )


def test_book_complete_and_resolve_from_detail(world: dict) -> None:
    at = _open(world["ops"])
    at.selectbox(key="svc_detail_ref").select(world["a_ref"]).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "Page Customer 1" in text and world["inst_refs"][0] in text
    visits = next(df.value for df in at.dataframe if "Slot" in df.value.columns)
    assert list(visits["Team"]) == ["BLR-T1"]
    # the same team in the same slot is refused (double booking)
    at.date_input(key="svc_book_date").set_value(days(0))
    at.selectbox(key="svc_book_team").select("BLR-T1 - Team BLR-T1")
    at.button(key="svc_book_submit").click().run()
    assert not at.exception
    assert any(
        f"BLR-T1 already has a job on {days(0).isoformat()} {SLOT} (service visit for "
        f"{world['a_ref']})" in e.value
        for e in at.error
    )
    # complete today's visit, then resolve
    at.text_input(key="svc_visit_notes").input("reset RCCB")
    at.button(key="svc_visit_complete").click().run()
    assert not at.exception
    assert any("completed" in s.value for s in at.success)
    at.date_input(key="svc_res_date").set_value(days(0))
    at.selectbox(key="svc_res_happy").select("Yes")
    at.button(key="svc_res_submit").click().run()
    assert not at.exception
    assert any("resolved" in s.value for s in at.success)
    metrics = _metrics(at)
    assert metrics["Average resolution (days)"] == "5.0"  # (6 + 4) / 2
    with session_scope(world["engine"]) as s:
        ticket = s.get(ServiceTicket, world["a_id"])
        assert (ticket.status, ticket.resolved_date, ticket.customer_satisfied) == (
            "resolved",
            days(0),
            True,
        )
        visit = s.execute(
            select(ServiceVisit).where(ServiceVisit.service_ticket_id == world["a_id"])
        ).scalar_one()
        assert (visit.status, visit.notes) == ("completed", "reset RCCB")


def test_invoice_needs_received_date(world: dict) -> None:
    at = _open(world["ops"])
    at.selectbox(key="svc_detail_ref").select(world["b_ref"]).run()
    at.date_input(key="svc_inv_authorised").set_value(days(0))
    at.button(key="svc_inv_submit").click().run()
    assert not at.exception
    assert any("authorised_date" in e.value for e in at.error)
    at.date_input(key="svc_inv_received").set_value(days(-1))
    at.button(key="svc_inv_submit").click().run()
    assert not at.exception
    assert any("Invoice dates" in s.value for s in at.success)
    with session_scope(world["engine"]) as s:
        row = s.execute(
            select(ServiceTicket).where(ServiceTicket.ref == world["b_ref"])
        ).scalar_one()
        assert (row.invoice_received_date, row.invoice_authorised_date) == (days(-1), days(0))


def test_viewer_is_refused_and_engineer_sees_own_team(world: dict) -> None:
    at = _open(world["viewer"])
    assert not at.exception
    assert any("may not" in e.value for e in at.error)
    assert not any("Nature of fault" in df.value.columns for df in at.dataframe)
    assert not at.metric

    at = _open(world["eng2"])
    assert not at.exception
    assert list(_table(at)["Ref"]) == [world["b_ref"]]  # only T2's ticket
    assert len(at.tabs) == 1  # no "Open ticket"
    assert _metrics(at)["Tickets"] == "1"


def test_cancel_ticket_from_detail(world: dict) -> None:
    at = _open(world["ops"])
    # a resolved ticket offers no cancel form
    at.selectbox(key="svc_detail_ref").select(world["b_ref"]).run()
    assert not at.exception
    assert not any(b.key == "svc_ct_submit" for b in at.button)
    at.selectbox(key="svc_detail_ref").select(world["a_ref"]).run()
    # the reason is required
    at.button(key="svc_ct_submit").click().run()
    assert not at.exception
    assert any("reason" in e.value and "required" in e.value for e in at.error)
    at.text_input(key="svc_ct_reason").input("Customer reset the RCCB")
    at.button(key="svc_ct_submit").click().run()
    assert not at.exception
    assert any(f"Ticket {world['a_ref']} cancelled." in x.value for x in at.success)
    text = " ".join(m.value for m in at.markdown)
    assert "Customer reset the RCCB" in text
    assert not any(b.key == "svc_ct_submit" for b in at.button)  # nothing left to cancel
    with session_scope(world["engine"]) as s:
        ticket = s.get(ServiceTicket, world["a_id"])
        assert (ticket.status, ticket.cancel_reason) == ("cancelled", "Customer reset the RCCB")
        visit = s.execute(
            select(ServiceVisit).where(ServiceVisit.service_ticket_id == world["a_id"])
        ).scalar_one()
        assert visit.status == "cancelled"
    # T1's slot today is free again: a visit of another ticket can take it
    with session_scope(world["engine"]) as s:
        from domain.service.service import open_ticket as _open_ticket

        inst = s.execute(
            select(Installation.id).where(Installation.ref == world["inst_refs"][2])
        ).scalar_one()
        other = _open_ticket(
            s,
            world["ops"],
            installation_id=inst,
            contact="Ravi",
            contact_phone=None,
            fault_reported_date=days(0),
            nature_of_fault="Cable burnt",
            equipment_details=None,
            maintenance=False,
            notes=None,
        )
        visit = book_visit(
            s,
            world["ops"],
            ticket_id=other.id,
            visit_date=days(0),
            time_slot=SLOT,
            team_id=world["t1"],
        )
        assert visit.status == "booked"


def test_engineer_gets_no_cancel_form(world: dict) -> None:
    at = _open(world["eng2"])
    assert not at.exception
    assert not any(b.key == "svc_ct_submit" for b in at.button)
