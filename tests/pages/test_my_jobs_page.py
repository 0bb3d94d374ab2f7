"""My jobs page (AppTest): team's jobs, installation report with signature, media upload and
gallery, daily log. Media go to a temporary DATA_DIR."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

import domain.models  # noqa: F401
from db.engine import session_scope
from db.settings import get_settings
from domain.installations.models import (
    Installation,
    InstallationAssignment,
    InstallationMedia,
    InstallationReport,
    TeamDailyLog,
)
from domain.installations.my_jobs import local_today
from domain.leads.models import Lead
from domain.procurement.models import Material
from domain.surveys.models import Survey
from tests.factories import actor_of, make_oem, make_team, make_user, make_zone

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "my_jobs.py")


def _image(fmt: str) -> bytes:
    """A real 8x8 image in Pillow format ``fmt`` (JPEG, PNG, WEBP)."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buf, fmt)
    return buf.getvalue()


JPEG = _image("JPEG")
PNG = _image("PNG")
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200


def _installation(
    s: Session, *, oem: Any, zone: Any, team: Any, n: int, work_date: date, status: str
) -> Installation:
    lead = Lead(
        ref=f"LEAD-2026-{n:05d}",
        oem_id=oem.id,
        oem_lead_ref=f"L-{n}",
        customer_name=f"Customer {n}",
        phone=f"+9198450{n:05d}",
        address=f"{n} MG Road",
        city="Bengaluru",
        pincode="560001",
        zone_id=zone.id,
        received_at=datetime(2026, 11, 1, 5, 0, tzinfo=UTC),
        status="installation_scheduled",
    )
    s.add(lead)
    s.flush()
    survey = Survey(
        ref=f"SUR-2026-{n:05d}",
        lead_id=lead.id,
        team_id=team.id,
        survey_date=date(2026, 11, 5),
        time_slot="09-12",
        status="reviewed_approved",
    )
    s.add(survey)
    s.flush()
    inst = Installation(
        ref=f"INS-2026-{n:05d}",
        survey_id=survey.id,
        lead_id=lead.id,
        status=status,
        scheduled_date=work_date,
        time_slot="09-12",
    )
    s.add(inst)
    s.flush()
    s.add(
        InstallationAssignment(
            installation_id=inst.id,
            team_id=team.id,
            work_date=work_date,
            time_slot="09-12",
            assigned_at=datetime(2026, 11, 10, tzinfo=UTC),
        )
    )
    s.flush()
    return inst


@pytest.fixture
def world(app_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    today = local_today()
    with session_scope(app_engine) as s:
        zone = make_zone(s)
        oem = make_oem(s)
        t1 = make_team(s, zone, "BLR-T1")
        t2 = make_team(s, zone, "BLR-T2")
        charger = Material(name="7.2kW AC wallbox", sku="CHG-7KW", category="charger", unit="piece")
        s.add(charger)
        s.add(Material(name="6mm cable", sku="CAB-6", category="cable", unit="meter"))
        s.flush()
        i1 = _installation(
            s, oem=oem, zone=zone, team=t1, n=1, work_date=today, status="in_progress"
        )
        i2 = _installation(
            s,
            oem=oem,
            zone=zone,
            team=t1,
            n=2,
            work_date=today + timedelta(days=2),
            status="planned",
        )
        _installation(s, oem=oem, zone=zone, team=t2, n=3, work_date=today, status="in_progress")
        out = {
            "engine": app_engine,
            "data_dir": data_dir,
            "today": today,
            "t1": t1.id,
            "i1": i1.id,
            "i2": i2.id,
            "fe1": actor_of(make_user(s, "field_engineer", "fe-one", zone=zone, team=t1)),
            "fe_no_team": actor_of(make_user(s, "field_engineer", "fe-loose", zone=zone)),
            "admin": actor_of(make_user(s, "admin", "boss")),
        }
    return out


def _open(actor: Any) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    return at.run()


def _jobs_table(at: AppTest):  # type: ignore[no-untyped-def]
    for df in at.dataframe:
        if "Installation" in df.value.columns:
            return df.value
    raise AssertionError("no jobs table rendered")


def _open_job(at: AppTest, ref: str) -> AppTest:
    label = next(o for o in at.selectbox(key="myjobs_job").options if o.startswith(ref))
    return at.selectbox(key="myjobs_job").select(label).run()


def test_field_engineer_sees_own_team_jobs(world: dict[str, Any]) -> None:
    at = _open(world["fe1"])
    assert not at.exception
    assert [t.value for t in at.title] == ["My jobs"]
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Today"], metrics["Upcoming"], metrics["Reports to write"]) == ("1", "1", "1")
    table = _jobs_table(at)
    assert list(table["Installation"]) == ["INS-2026-00001", "INS-2026-00002"]
    assert list(table["Customer"]) == ["Customer 1", "Customer 2"]
    assert "1 MG Road, Bengaluru 560001" in set(table["Address"])
    assert len(at.selectbox(key="myjobs_job").options) == 3  # none + two jobs


def test_report_with_signature_through_the_page(world: dict[str, Any]) -> None:
    at = _open_job(_open(world["fe1"]), "INS-2026-00001")
    assert not at.exception
    assert any("Customer 1" in m.value for m in at.markdown)
    iid = world["i1"]
    at.text_input(key=f"myjobs_serial_{iid}").input("ab-778899")
    model = at.selectbox(key=f"myjobs_model_{iid}")
    assert model.options == ["7.2kW AC wallbox [CHG-7KW]"]  # chargers only
    model.select("7.2kW AC wallbox [CHG-7KW]")
    at.checkbox(key=f"myjobs_demo_{iid}").check()
    at.file_uploader(key=f"myjobs_signature_{iid}_0").upload("sign.png", PNG, "image/png")
    at.button(key="myjobs_report_submit").click().run()
    assert not at.exception
    assert not at.error
    assert any("Installation report for INS-2026-00001 saved" in x.value for x in at.success)
    # after the rerun the form shows the saved report, without a signature warning
    assert any("Report recorded" in m.value and "AB-778899" in m.value for m in at.markdown)
    assert not at.warning
    assert at.file_uploader(key=f"myjobs_signature_{iid}_1").value is None
    with session_scope(world["engine"]) as s:
        report = s.execute(select(InstallationReport)).scalar_one()
        assert report.charger_serial == "AB-778899" and report.demo_done is True
        sig = s.get(InstallationMedia, report.signature_media_id)
        assert sig is not None and sig.kind == "signature"
        stored = (world["data_dir"] / sig.file_path).resolve()
        assert stored.is_relative_to(world["data_dir"].resolve())
        assert stored.read_bytes() == PNG


def test_report_errors_are_shown(world: dict[str, Any]) -> None:
    at = _open_job(_open(world["fe1"]), "INS-2026-00002")
    at.button(key="myjobs_report_submit").click().run()
    assert not at.exception
    # planned installation: report not yet possible
    assert any("in progress or completed" in e.value for e in at.error)
    at = _open_job(_open(world["fe1"]), "INS-2026-00001")
    at.button(key="myjobs_report_submit").click().run()
    messages = " ".join(e.value for e in at.error)
    assert "charger_serial" in messages and "charger_model_id" in messages


def test_media_upload_gallery_and_refusal(world: dict[str, Any]) -> None:
    at = _open_job(_open(world["fe1"]), "INS-2026-00001")
    at.selectbox(key="myjobs_media_kind").select("photo")
    at.file_uploader(key="myjobs_media_file").upload("../../wall.jpg", JPEG, "image/jpeg")
    at.text_input(key="myjobs_media_caption").input("Wall before")
    at.button(key="myjobs_media_submit").click().run()
    assert not at.exception
    assert any("Photo uploaded" in x.value for x in at.success)
    assert any("1 file(s)" in c.value for c in at.caption)
    assert len(at.image) == 1  # the gallery shows the photo
    assert "Wall before" in at.image[0].captions[0]
    # a renamed executable is refused and not stored
    at.file_uploader(key="myjobs_media_file").upload("photo.jpg", EXE, "image/jpeg")
    at.button(key="myjobs_media_submit").click().run()
    assert not at.exception
    assert any("file" in e.value for e in at.error)
    with session_scope(world["engine"]) as s:
        media = s.execute(select(InstallationMedia)).scalars().all()
        assert [(m.kind, m.caption, m.content_type) for m in media] == [
            ("photo", "Wall before", "image/jpeg")
        ]
    files = [p for p in world["data_dir"].rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].name != "wall.jpg"


def test_daily_log_form(world: dict[str, Any]) -> None:
    at = _open(world["fe1"])
    at.selectbox(key="myjobs_log_day_type").select("productive")
    at.number_input(key="myjobs_log_jobs").set_value(2)
    at.text_area(key="myjobs_log_notes").input("two installs")
    at.button(key="myjobs_log_submit").click().run()
    assert not at.exception
    assert any("Daily log for" in x.value for x in at.success)
    log_table = next(df.value for df in at.dataframe if "Jobs done" in df.value.columns)
    assert list(log_table["Jobs done"]) == [2]
    assert list(log_table["Day"]) == ["Productive"]
    with session_scope(world["engine"]) as s:
        log = s.execute(select(TeamDailyLog)).scalar_one()
        assert (log.team_id, log.log_date, log.notes) == (
            world["t1"],
            world["today"],
            "two installs",
        )


def test_engineer_without_team_and_admin_team_picker(world: dict[str, Any]) -> None:
    at = _open(world["fe_no_team"])
    assert not at.exception
    assert any("not in a field team" in i.value for i in at.info)
    at = _open(world["admin"])
    assert not at.exception
    assert at.selectbox(key="myjobs_team").options == [
        "BLR-T1 - Team BLR-T1",
        "BLR-T2 - Team BLR-T2",
    ]
    assert list(_jobs_table(at)["Installation"]) == ["INS-2026-00001", "INS-2026-00002"]
    at.selectbox(key="myjobs_team").select("BLR-T2 - Team BLR-T2").run()
    assert not at.exception
    assert list(_jobs_table(at)["Installation"]) == ["INS-2026-00003"]


def test_report_without_signature_warns(world: dict[str, Any]) -> None:
    at = _open_job(_open(world["fe1"]), "INS-2026-00001")
    iid = world["i1"]
    at.text_input(key=f"myjobs_serial_{iid}").input("SER-42")
    at.selectbox(key=f"myjobs_model_{iid}").select("7.2kW AC wallbox [CHG-7KW]")
    at.button(key="myjobs_report_submit").click().run()
    assert not at.exception
    assert any("saved (serial SER-42)" in x.value for x in at.success)
    assert any("signature" in w.value and "recommended" in w.value for w in at.warning)
    at = _open(world["fe1"])
    assert {m.label: m.value for m in at.metric}["Reports to write"] == "0"
