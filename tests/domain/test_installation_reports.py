"""Installation report and media commands on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import domain.models  # noqa: F401
from db.engine import session_scope
from domain.accounts.models import AuditEvent
from domain.errors import Conflict, NotFound, PermissionDenied, TransitionError, ValidationError
from domain.installations.models import (
    Installation,
    InstallationAssignment,
    InstallationMedia,
    InstallationReport,
)
from domain.installations.my_jobs import my_jobs
from domain.installations.reports import (
    SIGNATURE_MISSING,
    add_installation_media,
    get_report,
    list_charger_models,
    list_media,
    submit_installation_report,
)
from domain.leads.models import Lead
from domain.media import absolute_path
from domain.procurement.models import Material
from domain.surveys.models import Survey
from tests.factories import actor_of, make_oem, make_team, make_user, make_zone


def _image(fmt: str) -> bytes:
    """A real 8x8 image in Pillow format ``fmt`` (JPEG, PNG, WEBP)."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buf, fmt)
    return buf.getvalue()


JPEG = _image("JPEG")
PNG = _image("PNG")
MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x05" * 50
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200


def make_installation(
    s: Session,
    *,
    oem: Any,
    zone: Any,
    team: Any | None,
    n: int,
    status: str = "in_progress",
    work_date: date = date(2026, 11, 21),
    slot: str = "09-12",
) -> Installation:
    """A lead, an approved survey and an installation (with an active assignment of ``team``)."""
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
        team_id=team.id if team else None,
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
        time_slot=slot,
    )
    s.add(inst)
    s.flush()
    if team is not None:
        s.add(
            InstallationAssignment(
                installation_id=inst.id,
                team_id=team.id,
                work_date=work_date,
                time_slot=slot,
                assigned_at=datetime(2026, 11, 10, tzinfo=UTC),
            )
        )
        s.flush()
    return inst


def make_material(s: Session, sku: str, category: str = "charger", name: str | None = None):  # type: ignore[no-untyped-def]
    m = Material(name=name or f"Charger {sku}", sku=sku, category=category, unit="piece")
    s.add(m)
    s.flush()
    return m


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    """Media root, apart from the SQLite file of the ``engine`` fixture."""
    return tmp_path / "data"


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.fixture
def world(engine: Engine) -> dict[str, Any]:
    with session_scope(engine) as s:
        zone = make_zone(s)
        oem = make_oem(s)
        other_oem = make_oem(s, "MG", "MG Motor")
        t1 = make_team(s, zone, "BLR-T1")
        t2 = make_team(s, zone, "BLR-T2")
        charger = make_material(s, "CHG-7KW", name="7.2kW AC wallbox")
        cable = make_material(s, "CAB-6MM", category="cable", name="6mm cable")
        i1 = make_installation(s, oem=oem, zone=zone, team=t1, n=1)
        i2 = make_installation(s, oem=oem, zone=zone, team=t1, n=2, slot="12-15")
        i3 = make_installation(s, oem=other_oem, zone=zone, team=t2, n=3)
        planned = make_installation(
            s, oem=oem, zone=zone, team=t1, n=4, status="planned", slot="15-18"
        )
        return {
            "engine": engine,
            "fe1": actor_of(make_user(s, "field_engineer", "fe-one", zone=zone, team=t1)),
            "fe2": actor_of(make_user(s, "field_engineer", "fe-two", zone=zone, team=t2)),
            "ops": actor_of(make_user(s, "central_ops", "ops")),
            "viewer_mg": actor_of(make_user(s, "oem_viewer", "mgv", oem=other_oem)),
            "manager": actor_of(make_user(s, "manager", "mgr")),
            "charger_id": charger.id,
            "cable_id": cable.id,
            "i1": i1.id,
            "i2": i2.id,
            "i3": i3.id,
            "planned": planned.id,
        }


def _submit(w: dict[str, Any], s: Session, **kw: Any):  # type: ignore[no-untyped-def]
    args: dict[str, Any] = {
        "installation_id": w["i1"],
        "charger_serial": " ab-123456 ",
        "charger_model_id": w["charger_id"],
        "success": True,
        "issues": None,
        "demo_done": True,
        "demo_signed_off": False,
    }
    args.update(kw)
    actor = args.pop("actor", w["fe1"])
    return submit_installation_report(s, actor, **args)


def test_report_with_signature_is_stored(world: dict[str, Any], media_dir: Path) -> None:
    with session_scope(world["engine"]) as s:
        dto = _submit(world, s, signature=PNG, signature_name="../../sig.png", data_dir=media_dir)
    assert dto.charger_serial == "AB-123456"
    assert dto.charger_model_name == "7.2kW AC wallbox"
    assert dto.warnings == ()
    assert dto.signature_media_id is not None
    with session_scope(world["engine"]) as s:
        report = s.execute(select(InstallationReport)).scalar_one()
        assert (report.charger_serial, report.demo_done) == ("AB-123456", True)
        media = s.get(InstallationMedia, report.signature_media_id)
        assert media is not None and media.kind == "signature"
        assert media.content_type == "image/png"
        assert absolute_path(media.file_path, media_dir).read_bytes() == PNG
        inst = s.get(Installation, world["i1"])
        # demo tracked on the installation, status unchanged (lifecycle does the transition)
        assert inst.demo_completed is True and inst.status == "in_progress"
        actions = s.execute(select(AuditEvent.action)).scalars().all()
        assert "installation.report" in actions
        got = get_report(s, world["ops"], world["i1"])
        assert got is not None and got.charger_serial == "AB-123456"
        assert get_report(s, world["ops"], world["i2"]) is None


def test_report_without_signature_warns(world: dict[str, Any], media_dir: Path) -> None:
    with session_scope(world["engine"]) as s:
        dto = _submit(world, s, data_dir=media_dir)
    assert dto.warnings == (SIGNATURE_MISSING,)
    assert dto.signature_media_id is None
    assert not _files(media_dir)


def test_serial_and_model_mandatory(world: dict[str, Any]) -> None:
    with session_scope(world["engine"]) as s, pytest.raises(ValidationError) as exc:
        _submit(world, s, charger_serial="  ", charger_model_id=None)
    assert set(exc.value.errors) == {"charger_serial", "charger_model_id"}
    with session_scope(world["engine"]) as s, pytest.raises(ValidationError) as exc:
        _submit(world, s, charger_serial="AB 12")
    assert "charger_serial" in exc.value.errors


def test_bad_signature_refused_nothing_written(world: dict[str, Any], media_dir: Path) -> None:
    with session_scope(world["engine"]) as s, pytest.raises(ValidationError) as exc:
        _submit(world, s, signature=EXE, signature_name="sig.png", data_dir=media_dir)
    assert "signature" in exc.value.errors
    assert not _files(media_dir)
    with session_scope(world["engine"]) as s:
        assert s.execute(select(func.count(InstallationReport.id))).scalar_one() == 0


def test_non_charger_model_refused(world: dict[str, Any]) -> None:
    with session_scope(world["engine"]) as s, pytest.raises(ValidationError) as exc:
        _submit(world, s, charger_model_id=world["cable_id"])
    assert "not a charger" in exc.value.errors["charger_model_id"]
    with session_scope(world["engine"]) as s, pytest.raises(ValidationError) as exc:
        _submit(world, s, charger_model_id=uuid.uuid4())
    assert "charger_model_id" in exc.value.errors


def test_failed_installation_needs_issues(world: dict[str, Any]) -> None:
    with session_scope(world["engine"]) as s, pytest.raises(ValidationError) as exc:
        _submit(world, s, success=False, issues=" ")
    assert "issues" in exc.value.errors


def test_duplicate_serial_conflict(world: dict[str, Any], media_dir: Path) -> None:
    with session_scope(world["engine"]) as s:
        _submit(world, s, charger_serial="SER-1")
    with session_scope(world["engine"]) as s, pytest.raises(Conflict) as exc:
        _submit(
            world,
            s,
            installation_id=world["i2"],
            charger_serial="ser-1",
            signature=JPEG,
            data_dir=media_dir,
        )
    assert "SER-1" in str(exc.value)
    assert not _files(media_dir)  # no orphan signature
    # resubmitting the same installation's report updates it
    with session_scope(world["engine"]) as s:
        dto = _submit(world, s, charger_serial="SER-1", demo_done=False, demo_signed_off=True)
        assert dto.demo_signed_off is True
        assert s.execute(select(func.count(InstallationReport.id))).scalar_one() == 1
        assert s.get(Installation, world["i1"]).demo_completed is False


def test_integrity_error_removes_written_file(
    world: dict[str, Any], media_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent report with the same serial (the pre-check passed) -> Conflict, no file."""
    import domain.installations.reports as reports

    with session_scope(world["engine"]) as s:
        _submit(world, s, charger_serial="RACE-1")
    real_execute = Session.execute

    def blind_execute(self: Session, stmt: Any, *a: Any, **k: Any) -> Any:
        result = real_execute(self, stmt, *a, **k)
        if "installation.ref" in str(stmt) and "charger_serial" in str(stmt):
            return real_execute(self, select(Installation.ref).where(Installation.id.is_(None)))
        return result

    monkeypatch.setattr(reports.Session, "execute", blind_execute)
    removed: list[str] = []
    real_remove = reports.remove_stored

    def spy_remove(relative: str, data_dir: Path | None = None) -> None:
        removed.append(relative)
        real_remove(relative, data_dir)

    monkeypatch.setattr(reports, "remove_stored", spy_remove)
    with session_scope(world["engine"]) as s, pytest.raises(Conflict):
        _submit(
            world,
            s,
            installation_id=world["i2"],
            charger_serial="RACE-1",
            signature=JPEG,
            data_dir=media_dir,
        )
    assert len(removed) == 1  # the signature was written, then removed when the flush failed
    assert not _files(media_dir)


def test_field_engineer_of_other_team_refused(world: dict[str, Any], media_dir: Path) -> None:
    with session_scope(world["engine"]) as s, pytest.raises(PermissionDenied):
        _submit(world, s, actor=world["fe2"])
    with session_scope(world["engine"]) as s, pytest.raises(PermissionDenied):
        add_installation_media(
            s,
            world["fe2"],
            installation_id=world["i1"],
            data=JPEG,
            filename="a.jpg",
            kind="photo",
            data_dir=media_dir,
        )
    with session_scope(world["engine"]) as s, pytest.raises(PermissionDenied):
        list_media(s, world["fe2"], world["i1"])
    with session_scope(world["engine"]) as s, pytest.raises(PermissionDenied):
        _submit(world, s, actor=world["manager"])  # no installation.transition
    # a released assignment no longer counts as the team's job
    with session_scope(world["engine"]) as s:
        a = s.execute(
            select(InstallationAssignment).where(
                InstallationAssignment.installation_id == world["i1"]
            )
        ).scalar_one()
        a.released_at = datetime(2026, 11, 20, tzinfo=UTC)
    with session_scope(world["engine"]) as s, pytest.raises(PermissionDenied):
        _submit(world, s)
    # central ops may act on any installation
    with session_scope(world["engine"]) as s:
        assert _submit(world, s, actor=world["ops"]).charger_serial == "AB-123456"


def test_report_only_in_progress_or_completed(world: dict[str, Any]) -> None:
    with session_scope(world["engine"]) as s, pytest.raises(TransitionError):
        _submit(world, s, installation_id=world["planned"])
    with session_scope(world["engine"]) as s, pytest.raises(NotFound):
        _submit(world, s, actor=world["ops"], installation_id=uuid.uuid4())


def test_media_upload_and_list(world: dict[str, Any], media_dir: Path) -> None:
    with session_scope(world["engine"]) as s:
        photo = add_installation_media(
            s,
            world["fe1"],
            installation_id=world["i1"],
            data=JPEG,
            filename="../../wall.jpg",
            kind="photo",
            caption="",
            data_dir=media_dir,
        )
        video = add_installation_media(
            s,
            world["fe1"],
            installation_id=world["i1"],
            data=MP4,
            filename="walkthrough.mp4",
            kind="video",
            caption="Walk-through",
            data_dir=media_dir,
        )
    assert photo.caption == "wall.jpg" and photo.content_type == "image/jpeg"
    assert video.caption == "Walk-through" and video.content_type == "video/mp4"
    assert absolute_path(photo.file_path, media_dir).is_relative_to(media_dir.resolve())
    with session_scope(world["engine"]) as s:
        listed = list_media(s, world["fe1"], world["i1"])
        assert {m.id for m in listed} == {photo.id, video.id}
        assert [m.id for m in list_media(s, world["ops"], world["i1"], kind="video")] == [video.id]
        assert list_media(s, world["fe1"], world["i2"]) == []
        with pytest.raises(NotFound):
            list_media(s, world["viewer_mg"], world["i1"])  # another OEM's installation
        assert list_media(s, world["viewer_mg"], world["i3"]) == []
        assert (
            s.execute(
                select(func.count(AuditEvent.id)).where(
                    AuditEvent.action == "installation.media_add"
                )
            ).scalar_one()
            == 2
        )


def test_media_bad_file_refused_no_row(world: dict[str, Any], media_dir: Path) -> None:
    with session_scope(world["engine"]) as s, pytest.raises(ValidationError) as exc:
        add_installation_media(
            s,
            world["fe1"],
            installation_id=world["i1"],
            data=EXE,
            filename="photo.jpg",
            kind="photo",
            data_dir=media_dir,
        )
    assert "file" in exc.value.errors
    with session_scope(world["engine"]) as s:
        assert s.execute(select(func.count(InstallationMedia.id))).scalar_one() == 0
    with session_scope(world["engine"]) as s:
        inst = s.get(Installation, world["i2"])
        inst.status = "cancelled"
    with session_scope(world["engine"]) as s, pytest.raises(TransitionError):
        add_installation_media(
            s,
            world["fe1"],
            installation_id=world["i2"],
            data=JPEG,
            filename="a.jpg",
            kind="photo",
            data_dir=media_dir,
        )


def test_charger_catalogue(world: dict[str, Any]) -> None:
    with session_scope(world["engine"]) as s:
        models = list_charger_models(s)
    assert [m.sku for m in models] == ["CHG-7KW"]
    assert "7.2kW AC wallbox" in models[0].label


def test_my_jobs_lists_own_team_only(world: dict[str, Any]) -> None:
    day = date(2026, 11, 21)
    with session_scope(world["engine"]) as s:
        _submit(world, s)  # i1 gets a report
    with session_scope(world["engine"], readonly=True) as s:
        jobs = my_jobs(s, world["fe1"], date_from=day, date_to=day)
        assert [(j.ref, j.time_slot, j.has_report) for j in jobs] == [
            ("INS-2026-00001", "09-12", True),
            ("INS-2026-00002", "12-15", False),
            ("INS-2026-00004", "15-18", False),
        ]
        assert jobs[0].customer_name == "Customer 1" and jobs[0].phone == "+919845000001"
        assert jobs[0].full_address == "1 MG Road, Bengaluru 560001"
        assert [j.ref for j in my_jobs(s, world["fe2"], date_from=day, date_to=day)] == [
            "INS-2026-00003"
        ]
        assert (
            my_jobs(
                s, world["fe1"], date_from=day + timedelta(days=1), date_to=day + timedelta(days=9)
            )
            == []
        )
        with pytest.raises(PermissionDenied):
            my_jobs(s, world["fe1"], date_from=day, date_to=day, team_id=uuid.uuid4())
        with pytest.raises(PermissionDenied):
            my_jobs(s, world["manager"], date_from=day, date_to=day)
        with pytest.raises(ValidationError):
            my_jobs(s, world["ops"], date_from=day, date_to=day)  # team required
        with pytest.raises(ValidationError):
            my_jobs(s, world["fe1"], date_from=day, date_to=day - timedelta(days=1))
        team_of_i3 = s.execute(
            select(InstallationAssignment.team_id).where(
                InstallationAssignment.installation_id == world["i3"]
            )
        ).scalar_one()
        assert [
            j.ref for j in my_jobs(s, world["ops"], date_from=day, date_to=day, team_id=team_of_i3)
        ] == ["INS-2026-00003"]
    # cancelled installations and released assignments drop out
    with session_scope(world["engine"]) as s:
        s.get(Installation, world["i2"]).status = "cancelled"
        a = s.execute(
            select(InstallationAssignment).where(
                InstallationAssignment.installation_id == world["planned"]
            )
        ).scalar_one()
        a.released_at = datetime(2026, 11, 20, tzinfo=UTC)
    with session_scope(world["engine"], readonly=True) as s:
        assert [j.ref for j in my_jobs(s, world["fe1"], date_from=day, date_to=day)] == [
            "INS-2026-00001"
        ]
