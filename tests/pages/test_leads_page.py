"""Leads page (AppTest) on a temporary SQLite file database built with the domain importer."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

import domain.models  # noqa: F401
from db.engine import session_scope
from domain.leads.importer import import_leads
from domain.leads.models import Lead
from tests.fixtures.lead_sheets import (
    EXPECTED_ERRORS,
    EXPECTED_GOOD_REFS,
    csv_bytes,
    generated_rows,
    messy_rows,
    seed_reference,
)

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "leads.py")


@pytest.fixture
def world(app_engine: Engine) -> dict:
    eng = app_engine
    with session_scope(eng) as s:
        ref = seed_reference(s)
        # 60 TATA leads (G-...), 3 more MG leads (M-...): TATA needs two pages of 50.
        import_leads(
            s,
            ref["admin"],
            oem_id=ref["tata_id"],
            filename="tata.csv",
            content=csv_bytes(generated_rows(60)),
        )
        import_leads(
            s,
            ref["admin"],
            oem_id=ref["mg_id"],
            filename="mg.csv",
            content=csv_bytes(generated_rows(3, prefix="M", first_phone=9_811_000_000)),
        )
    return {"engine": eng, **ref}


def _open(actor) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    return at.run()


def _table(at: AppTest):  # type: ignore[no-untyped-def]
    """The leads table (the one with ``Ref`` and ``OEM`` columns)."""
    for df in at.dataframe:
        if "OEM lead id" in df.value.columns:
            return df.value
    raise AssertionError("no leads table rendered")


def test_admin_sees_all_oems_paginated(world: dict) -> None:
    at = _open(world["admin"])
    assert not at.exception
    assert [t.value for t in at.title] == ["Leads"]
    table = _table(at)
    assert len(table) == 50
    assert set(table["OEM"]) <= {"TATA", "MG"}
    assert "id" not in table.columns
    assert any("of 65" in c.value for c in at.caption)  # 60 + 3 imported + 2 seeded
    assert len(at.file_uploader) == 1
    # page 2 holds the remaining 15, different leads
    at.number_input(key="leads_page").set_value(2).run()
    assert not at.exception
    page2 = _table(at)
    assert len(page2) == 15
    assert not set(page2["Ref"]) & set(table["Ref"])


def test_viewer_sees_only_own_oem(world: dict) -> None:
    at = _open(world["mg_viewer"])
    assert not at.exception
    table = _table(at)
    assert len(table) == 4
    assert set(table["OEM"]) == {"MG"}
    assert at.selectbox(key="leads_f_oem").options == ["MG Motor India (MG)"]
    assert len(at.file_uploader) == 0  # no lead.import
    assert not any("Add lead" in b.label for b in at.button)


def test_filters_and_detail(world: dict) -> None:
    at = _open(world["admin"])
    at.selectbox(key="leads_f_oem").select("MG Motor India (MG)")
    at.text_input(key="leads_f_search").input("M-001")
    at.button(key="leads_f_submit").click().run()
    assert not at.exception
    table = _table(at)
    assert list(table["OEM lead id"]) == ["M-001"]
    lead_ref = table["Ref"].iloc[0]
    at.selectbox(key="leads_detail_ref").select(lead_ref).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "MG Motor India" in text and "+919845000002" in text
    assert "Bengaluru (BLR)" in text


def test_cancel_from_detail(world: dict) -> None:
    at = _open(world["admin"])
    at.text_input(key="leads_f_search").input("T-OLD-1")
    at.button(key="leads_f_submit").click().run()
    lead_ref = _table(at)["Ref"].iloc[0]
    at.selectbox(key="leads_detail_ref").select(lead_ref).run()
    at.text_input(key="leads_cancel_reason").input("customer withdrew")
    at.button(key="leads_cancel_submit").click().run()
    assert not at.exception
    assert any(f"Lead {lead_ref} cancelled." in s.value for s in at.success)
    assert list(_table(at)["Status"]) == ["cancelled"]
    with session_scope(world["engine"]) as s:
        lead = s.get(Lead, world["old_lead_id"])
        assert (lead.status, lead.cancel_reason) == ("cancelled", "customer withdrew")


def test_import_through_the_page(world: dict) -> None:
    at = _open(world["ops"])
    assert not at.exception
    at.selectbox(key="leads_import_oem").select("Tata Motors (TATA)")
    at.file_uploader(key="leads_import_file").upload(
        "tata-messy.csv", csv_bytes(messy_rows()), "text/csv"
    )
    at.button(key="leads_import_submit").click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Imported"] == str(len(EXPECTED_GOOD_REFS))
    assert metrics["Rejected"] == str(len(EXPECTED_ERRORS))
    errors = next(df.value for df in at.dataframe if "reason" in df.value.columns)
    assert set(errors["row"]) == set(EXPECTED_ERRORS)
    assert len(at.get("download_button")) == 1
    # the table of the same run already shows the new leads (T-... refs)
    assert "T-001" in set(_table(at)["OEM lead id"])
    with session_scope(world["engine"]) as s:
        imported = s.execute(
            select(func.count(Lead.id)).where(Lead.oem_lead_ref.in_(EXPECTED_GOOD_REFS))
        ).scalar_one()
        assert imported == len(EXPECTED_GOOD_REFS)
    # the result is kept in session_state and survives a rerun
    at.run()
    assert {m.label: m.value for m in at.metric}["Imported"] == str(len(EXPECTED_GOOD_REFS))


def test_field_engineer_reads_but_cannot_import(world: dict) -> None:
    at = _open(world["engineer"])
    assert not at.exception
    assert len(_table(at)) == 50
    assert len(at.file_uploader) == 0
    assert len(at.tabs) == 1


def test_import_needs_an_oem_and_a_file(world: dict) -> None:
    at = _open(world["admin"])
    at.button(key="leads_import_submit").click().run()
    assert any("Choose a CSV or XLSX file" in w.value for w in at.warning)
    at.file_uploader(key="leads_import_file").upload("x.csv", csv_bytes(messy_rows()), "text/csv")
    at.button(key="leads_import_submit").click().run()
    assert not at.exception
    assert any("Choose the OEM" in w.value for w in at.warning)
    assert not at.metric
    with session_scope(world["engine"]) as s:
        assert s.execute(select(func.count(Lead.id))).scalar_one() == 65


def test_import_file_error_is_shown(world: dict) -> None:
    at = _open(world["admin"])
    at.selectbox(key="leads_import_oem").select("Tata Motors (TATA)")
    at.file_uploader(key="leads_import_file").upload(
        "bad.csv", b"Lead ID,Customer Name\r\nL1,A\r\n", "text/csv"
    )
    at.button(key="leads_import_submit").click().run()
    assert not at.exception
    assert any("missing column" in e.value for e in at.error)
