"""Month closure page (AppTest) on a temporary SQLite file database.

World: ``tests.domain.test_month_closure.build_month_world`` (TATA's October 2026 has a
missing report, packs, undelivered material and a missing daily log).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

import domain.models  # noqa: F401
from db.engine import session_scope
from domain.reporting.models import MonthlyReport
from domain.reporting.months import start_review
from tests.domain.test_month_closure import OCT, MonthWorld, build_month_world

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "month_closure.py")
TATA = "Tata Motors (TATA)"


@pytest.fixture
def world(app_engine: Engine) -> MonthWorld:
    with session_scope(app_engine) as s:
        return build_month_world(s)


def _open(actor, month: str = "October 2026") -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    at.run()
    at.selectbox(key="mc_oem").select(TATA).run()
    at.selectbox(key="mc_month").select(month).run()
    assert not at.exception, at.exception
    return at


def _checklist(at: AppTest):  # type: ignore[no-untyped-def]
    for df in at.dataframe:
        if "Check" in df.value.columns:
            return df.value
    raise AssertionError("no checklist table")


def _tata_october(w: MonthWorld):  # type: ignore[no-untyped-def]
    return (MonthlyReport.oem_id == w.tata_id) & (MonthlyReport.month == OCT)


def _status(engine: Engine, w: MonthWorld) -> str | None:
    with session_scope(engine, readonly=True) as s:
        return s.execute(select(MonthlyReport.status).where(_tata_october(w))).scalar_one_or_none()


def test_failing_checklist_is_shown_with_the_refs(app_engine: Engine, world: MonthWorld) -> None:
    at = _open(world.reporting)
    # Opening the month created its folder lazily.
    assert _status(app_engine, world) == "open"
    table = _checklist(at)
    rows = {r["Check"]: r for _, r in table.iterrows()}
    reports = rows["Every completed installation has its installation report"]
    assert reports["Result"] == "❌ fail" and reports["At fault"] == world.refs["B"]
    logs = rows["Daily logs for every working day of the teams that worked for the OEM"]
    assert logs["At fault"] == "BLR-T1 2026-10-15"
    allocs = rows["No material allocation of those installations is left undelivered"]
    assert "CBL-6 (dispatched)" in allocs["At fault"]
    assert any("6 of 6 checks failing" in w.value for w in at.warning)
    assert at.metric[0].value == "Open"


def test_close_refused_for_non_manager_then_closed_by_manager(
    app_engine: Engine, world: MonthWorld
) -> None:
    at = _open(world.reporting)
    at.button(key="mc_start_review").click().run()
    assert _status(app_engine, world) == "in_review"
    assert any("is in review" in s.value for s in at.success)
    # Reporting staff may close a clean month, not one with failing checks.
    at.text_area(key="mc_close_reason").input("OEM asked for it")
    at.button(key="mc_close_submit").click().run()
    assert any("only a manager" in e.value for e in at.error)
    assert _status(app_engine, world) == "in_review"

    at = _open(world.manager)
    at.button(key="mc_close_submit").click().run()  # no reason
    assert any("reason" in e.value for e in at.error)
    assert _status(app_engine, world) == "in_review"
    at.text_area(key="mc_close_reason").input("B is billed in November")
    at.button(key="mc_close_submit").click().run()
    assert not at.exception
    assert any("closed and locked" in s.value for s in at.success)
    assert at.metric[0].value == "Closed (locked)"
    with session_scope(app_engine, readonly=True) as s:
        row = s.execute(select(MonthlyReport).where(_tata_october(world))).scalar_one()
        assert (row.status, row.closure_reason) == ("closed", "B is billed in November")
    history = next(df.value for df in at.dataframe if "Action" in df.value.columns)
    assert list(history["Action"]) == ["month.create", "month.start_review", "month.close"]
    # Closed: the manager may invoice; only an admin sees the reopen form.
    assert at.button(key="mc_invoice")
    assert not [b for b in at.button if b.key == "mc_reopen_submit"]
    at.button(key="mc_invoice").click().run()
    assert _status(app_engine, world) == "invoiced"
    assert any("final" in i.value for i in at.info)


def test_evidence_link_must_be_https(app_engine: Engine, world: MonthWorld) -> None:
    at = _open(world.reporting)
    at.text_input(key="mc_evidence_url").input("http://files.example.in/oct")
    at.button(key="mc_evidence_submit").click().run()
    assert any("https" in e.value for e in at.error)
    at.text_input(key="mc_evidence_url").input("https://files.example.in/oct")
    at.button(key="mc_evidence_submit").click().run()
    assert any("Evidence link saved" in s.value for s in at.success)
    with session_scope(app_engine, readonly=True) as s:
        assert s.execute(
            select(MonthlyReport.evidence_url).where(_tata_october(world))
        ).scalar_one() == ("https://files.example.in/oct")


def test_admin_reopens_a_closed_month_with_a_reason(app_engine: Engine, world: MonthWorld) -> None:
    with session_scope(app_engine) as s:
        from domain.reporting.months import close_month, open_month

        open_month(s, world.manager, oem_id=world.tata_id, month=OCT)
        start_review(s, world.manager, oem_id=world.tata_id, month=OCT)
        close_month(s, world.manager, oem_id=world.tata_id, month=OCT, reason="gaps")
    at = _open(world.admin)
    at.button(key="mc_reopen_submit").click().run()
    assert any("reason" in e.value for e in at.error)
    assert _status(app_engine, world) == "closed"
    at.text_input(key="mc_reopen_reason").input("wrong serial on A")
    at.button(key="mc_reopen_submit").click().run()
    assert _status(app_engine, world) == "open"


def test_oem_viewer_is_kept_out(app_engine: Engine, world: MonthWorld) -> None:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = world.viewer
    at.run()
    assert not at.exception
    assert any("internal" in e.value for e in at.error)
    assert not at.selectbox
    assert _status(app_engine, world) is None
