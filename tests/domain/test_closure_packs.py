"""Closure packs (issue 5 item 1) on SQLite and PostgreSQL: compile, checklist, submit,
OEM response (revision keeps the earlier version; acceptance closes the installation),
evidence upload, confirmation call, oem_viewer isolation, month lock, one pack per
installation under concurrency."""

from __future__ import annotations

import io
import threading
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
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
    InstallationMedia,
    InstallationReport,
    InstallationStatusChange,
)
from domain.leads.models import Lead
from domain.notifications.models import Notification
from domain.procurement.models import Material
from domain.reporting.models import (
    ClosurePack,
    ClosurePackRevision,
    MonthlyReport,
    ReportSubmission,
)
from domain.reporting.pack_pdf import pack_pdf_bytes
from domain.reporting.packs import (
    add_pack_evidence,
    compile_pack,
    compute_checklist,
    get_pack,
    list_compilable,
    list_packs,
    pack_for_installation,
    record_confirmation_call,
    record_oem_response,
    submit_pack,
)
from domain.surveys.models import Survey, SurveyReport
from tests.factories import actor_of, make_oem, make_user, make_zone

FULL = ["site_photo", "serial_plate_photo", "signature", "demo_signoff", "confirmation_call"]


def image_bytes(fmt: str = "PNG", colour: str = "teal", size: tuple[int, int] = (40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, fmt)
    return buf.getvalue()


PNG = image_bytes()
JPEG = image_bytes("JPEG", "orange")


def make_done_installation(
    s: Session,
    *,
    oem: Any,
    zone: Any,
    charger: Material,
    n: int,
    customer: str | None = None,
    serial: str | None = None,
    status: str = "report_submitted",
    demo_signed_off: bool = False,
) -> Installation:
    """Lead, approved survey with its report, and an installation with its report."""
    lead = Lead(
        ref=f"LEAD-2026-{n:05d}",
        oem_id=oem.id,
        oem_lead_ref=f"L-{n}",
        customer_name=customer or f"Customer {n}",
        phone=f"+9198450{n:05d}",
        address=f"{n} MG Road",
        city="Bengaluru",
        pincode="560001",
        zone_id=zone.id,
        received_at=datetime(2026, 11, 1, 5, 0, tzinfo=UTC),
        status="installed",
    )
    s.add(lead)
    s.flush()
    survey = Survey(
        ref=f"SUR-2026-{n:05d}",
        lead_id=lead.id,
        survey_date=date(2026, 11, 5),
        time_slot="09-12",
        status="reviewed_approved",
    )
    s.add(survey)
    s.flush()
    s.add(
        SurveyReport(
            survey_id=survey.id,
            site_type="independent_house",
            parking="covered",
            meter_distance_m=Decimal("12.50"),
            sanctioned_load_kw=Decimal("7.00"),
            earthing_ok=True,
            recommended_charger_id=charger.id,
            cable_length_m=Decimal("15.00"),
            load_enhancement_needed=False,
            notes="Meter in the stilt parking; wall mount next to it",
        )
    )
    inst = Installation(
        ref=f"INS-2026-{n:05d}",
        survey_id=survey.id,
        lead_id=lead.id,
        status=status,
        scheduled_date=date(2026, 11, 12),
        time_slot="09-12",
        material_ready=True,
        customer_confirmed=True,
        completed_at=datetime(2026, 11, 12, 8, 0, tzinfo=UTC),
    )
    s.add(inst)
    s.flush()
    s.add(
        InstallationReport(
            installation_id=inst.id,
            charger_serial=serial or f"SN-{n:06d}",
            charger_model_id=charger.id,
            success=True,
            demo_done=True,
            demo_signed_off=demo_signed_off,
        )
    )
    s.flush()
    return inst


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def world(engine: Engine) -> dict[str, Any]:
    with session_scope(engine) as s:
        zone = make_zone(s)
        oem = make_oem(s)
        oem.required_evidence = FULL
        other = make_oem(s, "MG", "MG Motor")
        other.required_evidence = ["site_photo", "serial_photo"]
        charger = Material(name="7.2kW AC wallbox", sku="CHG-7KW", category="charger", unit="piece")
        s.add(charger)
        s.flush()
        i1 = make_done_installation(
            s, oem=oem, zone=zone, charger=charger, n=1, customer="Anaya Iyer", serial="TPEM7K001"
        )
        i2 = make_done_installation(s, oem=oem, zone=zone, charger=charger, n=2)
        i3 = make_done_installation(s, oem=other, zone=zone, charger=charger, n=3)
        i4 = make_done_installation(s, oem=oem, zone=zone, charger=charger, n=4, status="completed")
        return {
            "engine": engine,
            "oem": oem.id,
            "other": other.id,
            "i1": i1.id,
            "i2": i2.id,
            "i3": i3.id,
            "i4": i4.id,
            "rep": actor_of(make_user(s, "oem_reporting", "rep")),
            "rep2": actor_of(make_user(s, "oem_reporting", "rep2")),
            "ops": actor_of(make_user(s, "central_ops", "ops")),
            "manager": actor_of(make_user(s, "manager", "mgr")),
            "fe": actor_of(make_user(s, "field_engineer", "fe")),
            "viewer": actor_of(make_user(s, "oem_viewer", "tv", oem=oem)),
            "viewer_mg": actor_of(make_user(s, "oem_viewer", "mgv", oem=other)),
        }


def _complete(w: dict[str, Any], pack_id: uuid.UUID, data_dir: Path) -> None:
    """Add every missing item of the full checklist."""
    with session_scope(w["engine"]) as s:
        for key, data in (
            ("site_photo", JPEG),
            ("serial_plate_photo", PNG),
            ("signature", PNG),
            ("demo_signoff", PNG),
        ):
            add_pack_evidence(
                s,
                w["rep"],
                pack_id=pack_id,
                evidence=key,
                data=data,
                filename=f"{key}.png",
                data_dir=data_dir,
            )
        record_confirmation_call(
            s, w["rep"], pack_id=pack_id, outcome="confirmed", notes="Charger works"
        )


# --- checklist (pure) -------------------------------------------------------------------------


def test_checklist_rules() -> None:
    items = compute_checklist(
        FULL + ["serial_photo", "drone_shot"],
        [("photo", "Site photo"), ("photo", None), ("document", "Demo sign-off sheet")],
        report_signature=False,
        demo_signed_off=False,
        confirmation_call=True,
    )
    by_key = {i.key: i for i in items}
    # alias folded into the canonical key, not listed twice
    assert [i.key for i in items] == FULL + ["drone_shot"]
    assert by_key["site_photo"].present and "2 site photo" in by_key["site_photo"].detail
    assert not by_key["serial_plate_photo"].present
    assert not by_key["signature"].present
    assert by_key["demo_signoff"].present
    assert by_key["confirmation_call"].present
    assert not by_key["drone_shot"].present and "unknown" in by_key["drone_shot"].detail
    serial_only = compute_checklist(
        ["site_photo", "serial_plate_photo", "signature", "demo_signoff"],
        [("photo", "Serial plate close-up"), ("signature", "x")],
        report_signature=False,
        demo_signed_off=True,
        confirmation_call=False,
    )
    assert [i.present for i in serial_only] == [False, True, True, True]


# --- compile ----------------------------------------------------------------------------------


def test_compile_shows_missing_and_writes_pdf(world: dict[str, Any], data_dir: Path) -> None:
    with session_scope(world["engine"]) as s:
        d = compile_pack(s, world["rep"], installation_id=world["i1"], data_dir=data_dir)
    assert d.ref.startswith(f"CP-{datetime.now(UTC).year}-")
    assert (d.status, d.oem_response, d.version) == ("compiled", "pending", 1)
    assert d.charger_serial == "TPEM7K001" and d.customer_name == "Anaya Iyer"
    assert d.missing == (
        "Site photo",
        "Serial-plate photo",
        "Customer signature",
        "Demo sign-off",
        "Confirmation call",
    )
    assert not d.complete
    assert d.report_file == f"reports/closure_packs/{d.ref}-v1.pdf"
    assert (data_dir / d.report_file).read_bytes().startswith(b"%PDF-")
    assert ("Site type", "independent house") in d.survey_findings
    with session_scope(world["engine"], readonly=True) as s:
        pack = s.execute(select(ClosurePack)).scalar_one()
        assert pack.compiled_by_id == world["rep"].user_id and pack.compiled_at is not None
        event = s.execute(
            select(AuditEvent).where(AuditEvent.action == "closure_pack.compile")
        ).scalar_one()
        assert event.after["missing"][0] == "Site photo"
    # recompiling keeps the same pack and ref
    with session_scope(world["engine"]) as s:
        again = compile_pack(s, world["rep"], installation_id=world["i1"], data_dir=data_dir)
    assert again.id == d.id and again.ref == d.ref
    with session_scope(world["engine"], readonly=True) as s:
        assert s.execute(select(func.count()).select_from(ClosurePack)).scalar_one() == 1


def test_compile_refusals(world: dict[str, Any], data_dir: Path) -> None:
    with session_scope(world["engine"]) as s:
        with pytest.raises(TransitionError, match="report_submitted"):
            compile_pack(s, world["rep"], installation_id=world["i4"], data_dir=data_dir)
        with pytest.raises(NotFound):
            compile_pack(s, world["rep"], installation_id=uuid.uuid4(), data_dir=data_dir)
        for who in ("ops", "manager", "fe", "viewer"):
            with pytest.raises(PermissionDenied):
                compile_pack(s, world[who], installation_id=world["i1"], data_dir=data_dir)
    with session_scope(world["engine"]) as s:
        s.execute(
            InstallationReport.__table__.delete().where(
                InstallationReport.installation_id == world["i2"]
            )
        )
        with pytest.raises(TransitionError, match="no installation report"):
            compile_pack(s, world["rep"], installation_id=world["i2"], data_dir=data_dir)


# --- submit -----------------------------------------------------------------------------------


def test_submit_refused_while_incomplete_then_allowed(
    world: dict[str, Any], data_dir: Path
) -> None:
    with session_scope(world["engine"]) as s:
        d = compile_pack(s, world["rep"], installation_id=world["i1"], data_dir=data_dir)
    with session_scope(world["engine"]) as s, pytest.raises(TransitionError) as err:
        submit_pack(s, world["rep"], pack_id=d.id, data_dir=data_dir)
    msg = str(err.value)
    for label in ("Site photo", "Serial-plate photo", "Customer signature", "Confirmation call"):
        assert label in msg
    with session_scope(world["engine"], readonly=True) as s:
        assert s.execute(select(func.count()).select_from(ReportSubmission)).scalar_one() == 0

    _complete(world, d.id, data_dir)
    with session_scope(world["engine"], readonly=True) as s:
        assert get_pack(s, world["rep"], d.id).complete
        # evidence was stored as installation media of the pack's installation
        captions = s.execute(
            select(InstallationMedia.caption).where(
                InstallationMedia.installation_id == world["i1"]
            )
        ).scalars()
        assert "Serial plate photo" in set(captions)
    with session_scope(world["engine"]) as s:
        done = submit_pack(s, world["rep"], pack_id=d.id, data_dir=data_dir)
    assert done.status == "submitted" and done.submitted_to_oem_at is not None
    assert len(done.submissions) == 1 and not done.submissions[0].acknowledged
    with session_scope(world["engine"], readonly=True) as s:
        sub = s.execute(select(ReportSubmission)).scalar_one()
        assert (sub.report_type, sub.report_id, sub.oem_id) == ("closure_pack", d.id, world["oem"])
        assert sub.submitted_by_id == world["rep"].user_id
    with session_scope(world["engine"]) as s:
        with pytest.raises(TransitionError, match="only a compiled pack"):
            submit_pack(s, world["rep"], pack_id=d.id, data_dir=data_dir)
        with pytest.raises(TransitionError, match="submitted"):
            compile_pack(s, world["rep"], installation_id=world["i1"], data_dir=data_dir)
        with pytest.raises(TransitionError):
            add_pack_evidence(
                s,
                world["rep"],
                pack_id=d.id,
                evidence="site_photo",
                data=PNG,
                filename="x.png",
                data_dir=data_dir,
            )


def test_evidence_upload_rules(world: dict[str, Any], data_dir: Path) -> None:
    with session_scope(world["engine"]) as s:
        d = compile_pack(s, world["rep"], installation_id=world["i1"], data_dir=data_dir)
    with session_scope(world["engine"]) as s:
        with pytest.raises(ValidationError) as e1:
            add_pack_evidence(
                s,
                world["rep"],
                pack_id=d.id,
                evidence="site_photo",
                data=b"MZ\x90\x00" + b"\x00" * 100,
                filename="photo.jpg",
                data_dir=data_dir,
            )
        assert "file" in e1.value.errors
        with pytest.raises(ValidationError) as e2:
            add_pack_evidence(
                s,
                world["rep"],
                pack_id=d.id,
                evidence="confirmation_call",
                data=PNG,
                filename="x.png",
                data_dir=data_dir,
            )
        assert "evidence" in e2.value.errors
        with pytest.raises(PermissionDenied):
            add_pack_evidence(
                s,
                world["manager"],
                pack_id=d.id,
                evidence="site_photo",
                data=PNG,
                filename="x.png",
                data_dir=data_dir,
            )
        with pytest.raises(ValidationError):
            record_confirmation_call(s, world["rep"], pack_id=d.id, outcome="maybe")
    # nothing left behind by the refused uploads
    assert not [p for p in data_dir.rglob("*") if p.is_file() and "media" in p.parts]
    with session_scope(world["engine"]) as s:
        record_confirmation_call(s, world["ops"], pack_id=d.id, outcome="no_answer")
        assert not get_pack(s, world["rep"], d.id).confirmation_call_completed
        record_confirmation_call(s, world["ops"], pack_id=d.id, outcome="confirmed")
        assert get_pack(s, world["rep"], d.id).confirmation_call_completed


# --- OEM response -----------------------------------------------------------------------------


def _submitted(world: dict[str, Any], data_dir: Path, inst: str = "i1") -> uuid.UUID:
    with session_scope(world["engine"]) as s:
        d = compile_pack(s, world["rep"], installation_id=world[inst], data_dir=data_dir)
    _complete(world, d.id, data_dir)
    with session_scope(world["engine"]) as s:
        submit_pack(s, world["rep"], pack_id=d.id, data_dir=data_dir)
    return d.id


def test_revision_keeps_earlier_version_and_resubmits(
    world: dict[str, Any], data_dir: Path
) -> None:
    pack_id = _submitted(world, data_dir)
    with session_scope(world["engine"]) as s:
        with pytest.raises(ValidationError) as err:
            record_oem_response(s, world["rep"], pack_id=pack_id, response="revision_needed")
        assert "reason" in err.value.errors
        with pytest.raises(ValidationError):
            record_oem_response(s, world["rep"], pack_id=pack_id, response="maybe")
    with session_scope(world["engine"]) as s:
        d = record_oem_response(
            s,
            world["rep"],
            pack_id=pack_id,
            response="revision_needed",
            reason="Serial plate photo not legible",
        )
    assert (d.status, d.oem_response, d.version) == ("draft", "revision_needed", 2)
    assert d.revision_reason == "Serial plate photo not legible"
    assert d.report_file is None
    assert [r.version for r in d.revisions] == [1]
    rev = d.revisions[0]
    assert rev.reason == "Serial plate photo not legible"
    assert rev.report_file == f"reports/closure_packs/{d.ref}-v1.pdf"
    assert rev.snapshot["charger_serial"] == "TPEM7K001" and rev.missing == ()
    assert d.submissions[0].acknowledged
    with session_scope(world["engine"], readonly=True) as s:
        notes = s.execute(
            select(Notification.recipient_role, Notification.subject, Notification.body).where(
                Notification.kind == "revision_needed"
            )
        ).all()
    assert len(notes) == 1
    role, subject, body = notes[0]
    assert role == "oem_reporting" and d.ref in subject
    assert "Serial plate photo not legible" in body
    v1_pdf = (data_dir / rev.report_file).read_bytes()
    with session_scope(world["engine"]) as s:
        with pytest.raises(TransitionError, match="compile it first"):
            submit_pack(s, world["rep"], pack_id=pack_id, data_dir=data_dir)
        with pytest.raises(NotFound, match="no PDF"):
            pack_pdf_bytes(s, world["rep"], pack_id=pack_id)
        add_pack_evidence(
            s,
            world["rep"],
            pack_id=pack_id,
            evidence="serial_plate_photo",
            data=JPEG,
            filename="plate2.jpg",
            data_dir=data_dir,
        )
        compile_pack(s, world["rep"], installation_id=world["i1"], data_dir=data_dir)
    with session_scope(world["engine"]) as s:
        d2 = submit_pack(s, world["rep"], pack_id=pack_id, data_dir=data_dir)
    assert d2.status == "submitted" and d2.version == 2 and d2.oem_response == "pending"
    assert d2.report_file == f"reports/closure_packs/{d.ref}-v2.pdf"
    assert len(d2.submissions) == 2
    # the earlier version's PDF is untouched and still downloadable
    assert (data_dir / rev.report_file).read_bytes() == v1_pdf
    with session_scope(world["engine"], readonly=True) as s:
        old = pack_pdf_bytes(s, world["viewer"], pack_id=pack_id, version=1, data_dir=data_dir)
        assert old.filename == f"{d.ref}-v1.pdf" and old.data == v1_pdf
        assert s.execute(select(func.count()).select_from(ClosurePackRevision)).scalar_one() == 1


def test_acceptance_closes_the_installation(world: dict[str, Any], data_dir: Path) -> None:
    pack_id = _submitted(world, data_dir)
    with session_scope(world["engine"]) as s:
        with pytest.raises(PermissionDenied):
            record_oem_response(s, world["viewer"], pack_id=pack_id, response="accepted")
        d = record_oem_response(s, world["rep"], pack_id=pack_id, response="accepted")
    assert (d.status, d.oem_response, d.installation_status) == ("accepted", "accepted", "closed")
    with session_scope(world["engine"], readonly=True) as s:
        inst = s.get(Installation, world["i1"])
        assert inst.status == "closed" and inst.closed_at is not None
        assert s.get(Lead, inst.lead_id).status == "closed"
        change = s.execute(
            select(InstallationStatusChange).where(
                InstallationStatusChange.installation_id == world["i1"]
            )
        ).scalar_one()
        assert (change.from_status, change.to_status) == ("report_submitted", "closed")
        actions = set(s.execute(select(AuditEvent.action)).scalars())
        assert {"closure_pack.oem_response", "installation.transition"} <= actions
    with (
        session_scope(world["engine"]) as s,
        pytest.raises(TransitionError, match="answers a submitted pack"),
    ):
        record_oem_response(s, world["rep"], pack_id=pack_id, response="accepted")


# --- isolation, lists -------------------------------------------------------------------------


def test_oem_viewer_isolation(world: dict[str, Any], data_dir: Path) -> None:
    with session_scope(world["engine"]) as s:
        mine = compile_pack(s, world["rep"], installation_id=world["i1"], data_dir=data_dir)
        theirs = compile_pack(s, world["rep"], installation_id=world["i3"], data_dir=data_dir)
    with session_scope(world["engine"], readonly=True) as s:
        v, mg = world["viewer"], world["viewer_mg"]
        assert [r.ref for r in list_packs(s, v).rows] == [mine.ref]
        assert [r.ref for r in list_packs(s, mg).rows] == [theirs.ref]
        assert list_packs(s, v, oem_id=world["other"]).total == 0
        assert list_packs(s, world["rep"]).total == 2
        assert get_pack(s, v, mine.id).ref == mine.ref
        with pytest.raises(NotFound):
            get_pack(s, v, theirs.id)
        with pytest.raises(NotFound):
            get_pack(s, mg, mine.id)
        with pytest.raises(NotFound):
            pack_pdf_bytes(s, mg, pack_id=mine.id, data_dir=data_dir)
        with pytest.raises(NotFound):
            pack_pdf_bytes(s, mg, pack_id=mine.id, version=1, data_dir=data_dir)
        with pytest.raises(NotFound):
            pack_for_installation(s, mg, world["i1"])
        assert pack_pdf_bytes(s, v, pack_id=mine.id, data_dir=data_dir).data.startswith(b"%PDF")
        with pytest.raises(PermissionDenied):
            list_packs(s, world["fe"])
        with pytest.raises(PermissionDenied):
            pack_pdf_bytes(s, world["fe"], pack_id=mine.id, data_dir=data_dir)
    with session_scope(world["engine"]) as s, pytest.raises(PermissionDenied):  # read only
        record_confirmation_call(s, mg, pack_id=mine.id, outcome="confirmed")


def test_list_filters_and_compilable(world: dict[str, Any], data_dir: Path) -> None:
    with session_scope(world["engine"], readonly=True) as s:
        refs = [c.installation_ref for c in list_compilable(s, world["rep"])]
        assert sorted(refs) == ["INS-2026-00001", "INS-2026-00002", "INS-2026-00003"]
        assert [c.installation_ref for c in list_compilable(s, world["rep"], search="anaya")] == [
            "INS-2026-00001"
        ]
    pack_id = _submitted(world, data_dir)
    with session_scope(world["engine"]) as s:
        compile_pack(s, world["rep"], installation_id=world["i3"], data_dir=data_dir)
    with session_scope(world["engine"], readonly=True) as s:
        rep = world["rep"]
        assert "INS-2026-00001" not in [c.installation_ref for c in list_compilable(s, rep)]
        assert [r.id for r in list_packs(s, rep, status="submitted").rows] == [pack_id]
        assert list_packs(s, rep, oem_id=world["other"]).rows[0].oem_code == "MG"
        assert list_packs(s, rep, oem_response="accepted").total == 0
        assert [r.customer_name for r in list_packs(s, rep, search="ANAYA").rows] == ["Anaya Iyer"]
        assert list_packs(s, rep, search="INS-2026-00003").total == 1
        with pytest.raises(ValidationError):
            list_packs(s, rep, status="lost")
        page = list_packs(s, rep, page=1, page_size=1)
        assert page.total == 2 and len(page.rows) == 1 and page.pages == 2


def test_month_lock_refuses_pack_changes(world: dict[str, Any], data_dir: Path) -> None:
    with session_scope(world["engine"]) as s:
        d = compile_pack(s, world["rep"], installation_id=world["i1"], data_dir=data_dir)
        s.add(
            MonthlyReport(
                oem_id=world["oem"],
                month=date(2026, 11, 1),
                total_leads=0,
                surveys_completed=0,
                installations_completed=0,
                closure_packs_submitted=0,
                status="closed",
            )
        )
    with session_scope(world["engine"]) as s:
        with pytest.raises(TransitionError):
            compile_pack(s, world["rep"], installation_id=world["i1"], data_dir=data_dir)
        with pytest.raises(TransitionError):
            record_confirmation_call(s, world["rep"], pack_id=d.id, outcome="confirmed")
        with pytest.raises(TransitionError):
            add_pack_evidence(
                s,
                world["rep"],
                pack_id=d.id,
                evidence="site_photo",
                data=PNG,
                filename="x.png",
                data_dir=data_dir,
            )
        with pytest.raises(TransitionError):
            submit_pack(s, world["rep"], pack_id=d.id, data_dir=data_dir)


def test_one_pack_per_installation_under_concurrency(world: dict[str, Any], data_dir: Path) -> None:
    """Two reporting users compile the same installation at once: one pack, one ref."""
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def work(actor: Any) -> None:
        try:
            barrier.wait(timeout=10)
            with session_scope(world["engine"]) as s:
                results.append(
                    compile_pack(s, actor, installation_id=world["i2"], data_dir=data_dir).ref
                )
        except Exception as exc:  # collected and checked below
            results.append(exc)

    threads = [threading.Thread(target=work, args=(world[a],)) for a in ("rep", "rep2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    refs = [r for r in results if isinstance(r, str)]
    errors = [r for r in results if not isinstance(r, str)]
    assert refs, errors
    assert all(isinstance(e, Conflict) for e in errors), errors
    with session_scope(world["engine"], readonly=True) as s:
        packs = s.execute(select(ClosurePack)).scalars().all()
        assert len(packs) == 1 and packs[0].ref in refs
