"""Surveys page (AppTest) on a temporary SQLite file database: schedule through the form,
see it listed, record + submit + approve through the detail, role-dependent actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

import domain.models  # noqa: F401
from db.engine import session_scope
from domain.calendar import local_date
from domain.leads.models import Lead
from domain.procurement.models import Material
from domain.surveys.models import Survey, SurveyReport
from domain.surveys.service import schedule_survey
from tests.factories import actor_of, make_oem, make_team, make_user, make_zone

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "surveys.py")
DAY = local_date(datetime.now(UTC)) + timedelta(days=2)


def _lead(s: Any, oem_id: Any, zone_id: Any, n: int) -> Lead:
    lead = Lead(
        ref=f"LEAD-2026-{n:05d}",
        oem_id=oem_id,
        oem_lead_ref=f"P-{n}",
        customer_name=f"Page Customer {n}",
        phone=f"+9198451{n:05d}",
        address=f"{n} Residency Road",
        city="Bengaluru",
        pincode="560025",
        zone_id=zone_id,
        received_at=datetime(2026, 11, 2, 5, 0, tzinfo=UTC) + timedelta(hours=n),
        status="new",
    )
    s.add(lead)
    s.flush()
    return lead


@pytest.fixture
def world(app_engine: Engine) -> dict[str, Any]:
    with session_scope(app_engine) as s:
        blr = make_zone(s)
        tata = make_oem(s, "TATA", "Tata Motors")
        mg = make_oem(s, "MG", "MG Motor India")
        t1 = make_team(s, blr, "BLR-T1")
        t2 = make_team(s, blr, "BLR-T2")
        for sku, cat, unit in (
            ("CH-7", "charger", "piece"),
            ("CAB-6", "cable", "meter"),
            ("MNT-1", "mounting", "piece"),
        ):
            s.add(Material(name=f"Item {sku}", sku=sku, category=cat, unit=unit, description=""))
        out = {
            "engine": app_engine,
            "ops": actor_of(make_user(s, "central_ops", "ops")),
            "fe1": actor_of(make_user(s, "field_engineer", "fe1", zone=blr, team=t1)),
            "fe2": actor_of(make_user(s, "field_engineer", "fe2", zone=blr, team=t2)),
            "tata_viewer": actor_of(make_user(s, "oem_viewer", "tv", oem=tata)),
            "t1": t1.id,
            "lead1": _lead(s, tata.id, blr.id, 1).id,
            "lead2": _lead(s, tata.id, blr.id, 2).id,
            "lead_mg": _lead(s, mg.id, blr.id, 3).id,
        }
    return out


def _open(actor: Any) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    return at.run()


def _table(at: AppTest) -> Any:
    for df in at.dataframe:
        if "Slot" in df.value.columns:
            return df.value
    raise AssertionError("no surveys table rendered")


def _schedule(world: dict, lead: str) -> Any:
    with session_scope(world["engine"]) as s:
        return schedule_survey(
            s,
            world["ops"],
            lead_id=world[lead],
            team_id=world["t1"],
            survey_date=DAY,
            time_slot="09-12",
        )


def test_schedule_through_the_form_and_see_it_listed(world: dict) -> None:
    at = _open(world["ops"])
    assert not at.exception
    assert [t.value for t in at.title] == ["Surveys"]
    assert any("No surveys match" in i.value for i in at.info)
    lead_box = at.selectbox(key="sv_new_lead")
    assert len(lead_box.options) == 3
    label = next(o for o in lead_box.options if o.startswith("LEAD-2026-00001"))
    lead_box.select(label).run()
    assert not at.exception
    assert at.selectbox(key="sv_new_team").options == [
        "BLR-T1 - Team BLR-T1",
        "BLR-T2 - Team BLR-T2",
    ]
    at.date_input(key="sv_new_date").set_value(DAY)
    at.selectbox(key="sv_new_slot").select("12-15")
    at.button(key="sv_new_submit").click().run()
    assert not at.exception
    assert any("scheduled for LEAD-2026-00001" in m.value for m in at.success)
    table = _table(at)
    assert list(table["Lead"]) == ["LEAD-2026-00001"]
    assert list(table["Status"]) == ["scheduled"] and list(table["Slot"]) == ["12-15"]
    assert len(at.selectbox(key="sv_new_lead").options) == 2
    with session_scope(world["engine"]) as s:
        assert s.get(Lead, world["lead1"]).status == "survey_scheduled"


def test_double_booking_error_is_shown(world: dict) -> None:
    first = _schedule(world, "lead1")
    at = _open(world["ops"])
    lead_box = at.selectbox(key="sv_new_lead")
    lead_box.select(next(o for o in lead_box.options if o.startswith("LEAD-2026-00002"))).run()
    at.date_input(key="sv_new_date").set_value(DAY)
    at.selectbox(key="sv_new_slot").select("09-12")
    at.button(key="sv_new_submit").click().run()
    assert not at.exception
    assert any(first.ref in e.value for e in at.error)
    assert len(_table(at)) == 1


def test_record_submit_approve_through_the_page(world: dict) -> None:
    sv = _schedule(world, "lead1")
    ref = sv.ref

    # field engineer of the team records and submits
    at = _open(world["fe1"])
    assert not at.exception
    assert len(at.tabs) == 1  # no Schedule tab for field engineers
    at.selectbox(key="sv_detail_ref").select(ref).run()
    assert not at.exception
    assert any("No report recorded yet" in c.value for c in at.caption)
    at.selectbox(key=f"sv_site_{ref}").select("apartment")
    at.selectbox(key=f"sv_parking_{ref}").select("basement")
    at.number_input(key=f"sv_distance_{ref}").set_value(18.5)
    at.number_input(key=f"sv_cable_{ref}").set_value(22.0)
    at.selectbox(key=f"sv_charger_{ref}").select("Item CH-7 (CH-7)")
    at.checkbox(key=f"sv_earthing_{ref}").check()
    at.selectbox(key=f"sv_mat0_{ref}").select("Item CAB-6 (CAB-6)")
    at.number_input(key=f"sv_qty0_{ref}").set_value(22)
    # load left at 0: refused with the field named
    at.button(key=f"sv_report_submit_{ref}").click().run()
    assert not at.exception
    assert any("sanctioned_load_kw" in e.value for e in at.error)
    at.number_input(key=f"sv_load_{ref}").set_value(7.5)
    at.button(key=f"sv_report_submit_{ref}").click().run()
    assert not at.exception
    assert any(f"Report of survey {ref} saved (completed)" in m.value for m in at.success)
    text = " ".join(m.value for m in at.markdown)
    assert "18.50 m" in text and "7.50 kW" in text and "Item CH-7" in text
    lines = next(df.value for df in at.dataframe if "Material" in df.value.columns)
    assert list(lines["Material"]) == ["Item CAB-6"] and list(lines["Quantity"]) == [22]
    at.button(key=f"sv_submit_{ref}").click().run()
    assert not at.exception
    assert any(f"Survey {ref} submitted" in m.value for m in at.success)
    assert not any(b.key == f"sv_approve_{ref}" for b in at.button)

    # the planner rejects without notes (refused), then approves
    at = _open(world["ops"])
    at.selectbox(key="sv_detail_ref").select(ref).run()
    at.button(key=f"sv_reject_{ref}").click().run()
    assert not at.exception
    assert any("notes" in e.value for e in at.error)
    at.button(key=f"sv_approve_{ref}").click().run()
    assert not at.exception
    assert any(f"Survey {ref} reviewed approved" in m.value for m in at.success)
    assert list(_table(at)["Status"]) == ["reviewed_approved"]
    with session_scope(world["engine"]) as s:
        survey = s.get(Survey, sv.id)
        assert survey.status == "reviewed_approved"
        assert s.get(Lead, world["lead1"]).status == "surveyed"
        report = s.query(SurveyReport).filter_by(survey_id=sv.id).one()
        assert str(report.meter_distance_m) == "18.50" and report.earthing_ok is True


def test_other_team_engineer_sees_nothing_and_viewer_reads_only(world: dict) -> None:
    sv = _schedule(world, "lead1")
    with session_scope(world["engine"]) as s:
        mg_sv = schedule_survey(
            s,
            world["ops"],
            lead_id=world["lead_mg"],
            team_id=world["t1"],
            survey_date=DAY,
            time_slot="15-18",
        )
    at = _open(world["fe2"])
    assert not at.exception
    assert any("No surveys match" in i.value for i in at.info)

    at = _open(world["tata_viewer"])
    assert not at.exception
    assert len(at.tabs) == 1
    assert list(_table(at)["Ref"]) == [sv.ref]
    at.selectbox(key="sv_detail_ref").select(sv.ref).run()
    assert not at.exception
    assert any("Page Customer 1" in m.value for m in at.markdown)
    # only the filter form: no report/review/reschedule/cancel action for a viewer
    assert [b.key for b in at.button] == ["sv_f_submit"]
    assert mg_sv.ref not in at.selectbox(key="sv_detail_ref").options


def test_cancel_through_the_page(world: dict) -> None:
    sv = _schedule(world, "lead1")
    at = _open(world["ops"])
    at.selectbox(key="sv_detail_ref").select(sv.ref).run()
    at.text_input(key=f"sv_cancel_reason_{sv.ref}").input("customer away")
    at.button(key=f"sv_cancel_submit_{sv.ref}").click().run()
    assert not at.exception
    assert any(f"Survey {sv.ref} cancelled" in m.value for m in at.success)
    assert list(_table(at)["Status"]) == ["cancelled"]
    with session_scope(world["engine"]) as s:
        assert s.get(Lead, world["lead1"]).status == "contacted"


def test_field_engineer_adds_a_site_photo_through_the_page(
    world: dict, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import io

    from PIL import Image
    from sqlalchemy import select

    from db.settings import get_settings
    from domain.surveys.models import SurveyMedia

    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 40)).save(buf, "PNG")
    sv = _schedule(world, "lead1")
    at = _open(world["fe1"])
    at.selectbox(key="sv_detail_ref").select(sv.ref).run()
    at.file_uploader(key=f"sv_photo_file_{sv.ref}").upload("meter.png", buf.getvalue(), "image/png")
    at.text_input(key=f"sv_photo_caption_{sv.ref}").input("Meter board")
    at.button(key=f"sv_photo_submit_{sv.ref}").click().run()
    assert not at.exception
    assert any("Photo added" in m.value for m in at.success)
    with session_scope(world["engine"], readonly=True) as s:
        rows = s.execute(
            select(SurveyMedia.caption, SurveyMedia.file_path).where(SurveyMedia.survey_id == sv.id)
        ).all()
    assert [caption for caption, _ in rows] == ["Meter board"]
    assert (tmp_path / rows[0][1]).is_file()
