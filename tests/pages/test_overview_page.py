"""Overview page (AppTest) on an SQLite file with the hand-computed KPI fixture."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from db.engine import make_engine, session_scope
from db.types import utcnow
from domain.calendar import local_date
from domain.kpi.dto import Overview
from domain.kpi.queries import overview
from domain.money import format_inr, format_inr_compact
from tests.domain.test_kpi import TODAY, KpiWorld, build_kpi_world

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "overview.py")


@pytest.fixture
def kpi_db(app_engine: Engine) -> KpiWorld:
    with session_scope(app_engine) as s:
        return build_kpi_world(s)


def _in_fixture_week() -> bool:
    """True when the page's real local date is in the fixture's week (2026-11-16..22)."""
    return local_date(utcnow()).isocalendar()[:2] == TODAY.isocalendar()[:2]


def _domain_overview(world: KpiWorld) -> Overview:
    engine = make_engine(os.environ["DATABASE_URL"])
    try:
        with session_scope(engine, readonly=True) as s:
            return overview(s, world.manager)
    finally:
        engine.dispose()


def _run(actor: object) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    at.run()
    assert not at.exception, at.exception
    return at


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _chart_text(at: AppTest) -> str:
    return " ".join(c.proto.spec for c in at.get("plotly_chart"))


def test_manager_sees_metrics_and_charts(kpi_db: KpiWorld) -> None:
    at = _run(kpi_db.manager)
    labels = [m.label for m in at.metric]
    assert labels.count("Leads received") == 2  # this week and this month
    assert "Revenue (month)" in labels
    # The page runs on the real local date; on 2026-11-16..22 (the fixture's week) the
    # figures are the hand-computed ones of tests/domain/test_kpi.py.
    expected = _domain_overview(kpi_db)
    revenue = next(m for m in at.metric if m.label == "Revenue (month)")
    assert revenue.value == format_inr_compact(expected.total_revenue)
    assert revenue.help == f"Exactly {format_inr(expected.total_revenue)} (L = lakh, Cr = crore)"
    sla = next(m for m in at.metric if m.label == "Installation SLA compliance (month)")
    week_leads = next(m for m in at.metric if m.label == "Leads received")
    assert week_leads.value == str(expected.leads_received.this_week)
    if _in_fixture_week():
        assert revenue.value == "₹91,000.00"
        assert sla.value == "71.43%"
        assert week_leads.value == "3"
        assert week_leads.delta == "1"  # 3 this week vs 2 last week
    charts = _charts(at)
    assert len(charts) == 5
    assert all(chart["data"] for chart in charts)  # every chart has at least one trace
    text = _chart_text(at)
    assert "TATA" in text and "MG" in text
    table = at.dataframe[0].value
    assert set(table["Name"]) == {"Tata Motors", "MG Motor"}


def test_manager_oem_filter(kpi_db: KpiWorld) -> None:
    at = _run(kpi_db.manager)
    at.selectbox(key="overview_oem").select("MG - MG Motor").run()
    assert not at.exception
    assert list(at.dataframe[0].value["Name"]) == ["MG Motor"]
    revenue = next(m for m in at.metric if m.label == "Revenue (month)")
    if _in_fixture_week():
        assert revenue.value == "₹20,000.00"


def test_viewer_sees_only_own_oem(kpi_db: KpiWorld) -> None:
    at = _run(kpi_db.mg_viewer)
    assert not at.selectbox(key="overview_zone").disabled
    assert all(sb.key != "overview_oem" for sb in at.selectbox)
    assert any("MG - MG Motor" in md.value for md in at.markdown)
    assert list(at.dataframe[0].value["Name"]) == ["MG Motor"]
    text = _chart_text(at) + " ".join(md.value for md in at.markdown)
    assert "TATA" not in text and "Tata Motors" not in text
    revenue = next(m for m in at.metric if m.label == "Revenue (month)")
    if _in_fixture_week():
        assert revenue.value == "₹20,000.00"
    assert at.get("plotly_chart")


def test_refused_role_sees_error(kpi_db: KpiWorld) -> None:
    at = _run(kpi_db.field_engineer)
    assert at.error and "may not" in at.error[0].value
    assert not at.get("plotly_chart")
