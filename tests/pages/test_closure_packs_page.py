"""Closure packs page (AppTest) on a temporary SQLite file database and data directory."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

import domain.models  # noqa: F401
from db.engine import session_scope
from db.settings import get_settings
from domain.installations.models import Installation
from domain.procurement.models import Material
from domain.reporting.models import ClosurePack, ClosurePackRevision, ReportSubmission
from domain.reporting.packs import add_pack_evidence, compile_pack, submit_pack
from tests.domain.test_closure_packs import FULL, JPEG, PNG, make_done_installation
from tests.factories import actor_of, make_oem, make_user, make_zone

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "closure_packs.py")


@pytest.fixture
def world(app_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    with session_scope(app_engine) as s:
        zone = make_zone(s)
        oem = make_oem(s)
        oem.required_evidence = ["site_photo", "serial_plate_photo", "confirmation_call"]
        other = make_oem(s, "MG", "MG Motor")
        other.required_evidence = FULL
        charger = Material(name="7.2kW AC wallbox", sku="CHG-7KW", category="charger", unit="piece")
        s.add(charger)
        s.flush()
        i1 = make_done_installation(
            s, oem=oem, zone=zone, charger=charger, n=1, customer="Anaya Iyer", serial="TPEM7K001"
        )
        i3 = make_done_installation(s, oem=other, zone=zone, charger=charger, n=3)
        w = {
            "engine": app_engine,
            "data_dir": data_dir,
            "i1": i1.id,
            "i3": i3.id,
            "rep": actor_of(make_user(s, "oem_reporting", "rep")),
            "viewer": actor_of(make_user(s, "oem_viewer", "tv", oem=oem)),
            "viewer_mg": actor_of(make_user(s, "oem_viewer", "mgv", oem=other)),
            "fe": actor_of(make_user(s, "field_engineer", "fe")),
        }
    return w


def _open(actor: Any) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    return at.run()


def _table(at: AppTest, column: str = "Ref"):  # type: ignore[no-untyped-def]
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with column {column}")


def test_compile_fix_submit_revise_resubmit(world: dict[str, Any]) -> None:
    at = _open(world["rep"])
    assert not at.exception
    assert any("No closure pack" in i.value for i in at.info)
    # compile: the pack is incomplete
    labels = at.selectbox(key="cp_c_inst").options
    target = next(o for o in labels if o.startswith("INS-2026-00001"))
    at.selectbox(key="cp_c_inst").select(target)
    at.button(key="cp_c_submit").click().run()
    assert not at.exception
    assert any("incomplete: missing Site photo" in x.value for x in at.success)
    assert at.selectbox(key="cp_pick").value.startswith("CP-")
    checklist = _table(at, "Item")
    assert list(checklist["Status"]) == ["❌ missing", "❌ missing", "❌ missing"]
    assert any("Incomplete" in e.value for e in at.error)
    # submitting now is refused with the missing items
    at.button(key="cp_submit_submit").click().run()
    assert any("cannot be submitted: missing Site photo" in e.value for e in at.error)
    # add the evidence through the page
    for key, data in (("site_photo", JPEG), ("serial_plate_photo", PNG)):
        at.selectbox(key="cp_ev_key").select(key)
        at.file_uploader(key="cp_ev_file").upload(f"{key}.png", data, "image/png")
        at.button(key="cp_ev_submit").click().run()
        assert not at.exception
        assert any("added to CP-" in x.value for x in at.success), [e.value for e in at.error]
    at.selectbox(key="cp_call_out").select("confirmed")
    at.button(key="cp_call_submit").click().run()
    assert any("Confirmation call (confirmed)" in x.value for x in at.success)
    assert list(_table(at, "Item")["Status"]) == ["✅ present"] * 3
    at.button(key="cp_recompile_submit").click().run()
    at.button(key="cp_submit_submit").click().run()
    assert any("submitted to TATA" in x.value for x in at.success), [e.value for e in at.error]
    # OEM asks for a revision: a reason is required
    at.radio(key="cp_resp").set_value("revision_needed")
    at.button(key="cp_resp_submit").click().run()
    assert any("reason" in e.value for e in at.error)
    at.radio(key="cp_resp").set_value("revision_needed")
    at.text_area(key="cp_resp_reason").input("Serial plate photo not legible")
    at.button(key="cp_resp_submit").click().run()
    assert any("reopened as version 2" in x.value for x in at.success)
    assert any("Serial plate photo not legible" in w.value for w in at.warning)
    versions = _table(at, "Missing then")
    assert list(versions["Reason"]) == ["Serial plate photo not legible"]
    assert at.download_button(key="cp_old_pdf") is not None
    # fix, recompile, resubmit, accept
    at.selectbox(key="cp_ev_key").select("serial_plate_photo")
    at.file_uploader(key="cp_ev_file").upload("plate.jpg", JPEG, "image/jpeg")
    at.button(key="cp_ev_submit").click().run()
    at.button(key="cp_recompile_submit").click().run()
    at.button(key="cp_submit_submit").click().run()
    assert any("submitted" in x.value for x in at.success), [e.value for e in at.error]
    pdf = at.download_button(key="cp_pdf")
    assert "version 2" in pdf.proto.label
    at.radio(key="cp_resp").set_value("accepted")
    at.button(key="cp_resp_submit").click().run()
    assert any("accepted; installation INS-2026-00001 closed" in x.value for x in at.success)
    with session_scope(world["engine"], readonly=True) as s:
        assert s.get(Installation, world["i1"]).status == "closed"
        pack = s.execute(select(ClosurePack)).scalar_one()
        assert (pack.status, pack.version) == ("accepted", 2)
        assert len(s.execute(select(ReportSubmission)).scalars().all()) == 2
        assert len(s.execute(select(ClosurePackRevision)).scalars().all()) == 1


def test_filters_download_and_viewer_isolation(world: dict[str, Any]) -> None:
    with session_scope(world["engine"]) as s:
        mine = compile_pack(s, world["rep"], installation_id=world["i1"])
        theirs = compile_pack(s, world["rep"], installation_id=world["i3"])
    at = _open(world["rep"])
    assert sorted(_table(at)["Ref"]) == sorted([mine.ref, theirs.ref])
    at.text_input(key="cp_f_search").input("anaya")
    at.button(key="cp_f_submit").click().run()
    assert list(_table(at)["Ref"]) == [mine.ref]
    at.text_input(key="cp_f_search").input("")
    at.selectbox(key="cp_f_status").select("accepted")
    at.button(key="cp_f_submit").click().run()
    assert any("No closure pack" in i.value for i in at.info)

    viewer = _open(world["viewer"])
    assert not viewer.exception
    assert list(_table(viewer)["Ref"]) == [mine.ref]
    assert viewer.selectbox(key="cp_pick").options == ["—", mine.ref]
    assert len(viewer.tabs) == 1  # no Compile tab
    viewer.selectbox(key="cp_pick").select(mine.ref).run()
    assert len(viewer.get("form")) == 0 or not any(
        b.key in ("cp_submit_submit", "cp_ev_submit", "cp_recompile_submit") for b in viewer.button
    )
    data = viewer.download_button(key="cp_pdf").proto
    assert data.label == "Download PDF (version 1)"
    with session_scope(world["engine"], readonly=True) as s:
        stored = (world["data_dir"] / s.get(ClosurePack, mine.id).report_file).read_bytes()
    text = PdfReader(io.BytesIO(stored)).pages[0].extract_text()
    assert "TPEM7K001" in text and "Anaya Iyer" in text

    other = _open(world["viewer_mg"])
    assert list(_table(other)["Ref"]) == [theirs.ref]

    fe = _open(world["fe"])
    assert any("may not" in e.value for e in fe.error)


def test_submitted_pack_has_no_edit_forms(world: dict[str, Any]) -> None:
    with session_scope(world["engine"]) as s:
        d = compile_pack(s, world["rep"], installation_id=world["i1"])
        for key in ("site_photo", "serial_plate_photo"):
            add_pack_evidence(
                s, world["rep"], pack_id=d.id, evidence=key, data=PNG, filename="x.png"
            )
        s.get(ClosurePack, d.id).confirmation_call_completed = True
        s.flush()
        compile_pack(s, world["rep"], installation_id=world["i1"])
        submit_pack(s, world["rep"], pack_id=d.id)
    at = _open(world["rep"])
    at.selectbox(key="cp_pick").select(d.ref).run()
    assert not at.exception
    keys = {b.key for b in at.button}
    assert "cp_resp_submit" in keys
    assert not keys & {"cp_ev_submit", "cp_call_submit", "cp_recompile_submit", "cp_submit_submit"}
    submissions = _table(at, "Acknowledged")
    assert list(submissions["Acknowledged"]) == ["no"]
