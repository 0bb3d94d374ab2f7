"""KPIs page (AppTest) on an SQLite file with the hand-computed dashboard fixture.

Figures for October-November 2026 are those of tests/domain/test_kpi_dashboards.py.
"""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, select, update
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from app import runtime
from db.engine import session_scope
from domain.installations.models import Installation
from tests.domain.test_kpi import build_kpi_world
from tests.domain.test_kpi_dashboards import DashWorld, add_teams_and_stock

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "kpis.py")
PERIOD = "2026-10_2026-11"


@pytest.fixture
def dash_db(app_engine: Engine) -> DashWorld:
    with session_scope(app_engine) as s:
        return add_teams_and_stock(s, build_kpi_world(s))


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Bytes of every download button rendered, by file name (AppTest keeps no media)."""
    files: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):  # type: ignore[no-untyped-def]
        if filename and isinstance(path_or_data, bytes):
            files[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return files


def _open(actor: object) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    at.run()
    assert not at.exception, at.exception
    return at


def _period(at: AppTest, start: date = date(2026, 10, 1), end: date = date(2026, 11, 15)) -> None:
    at.date_input(key="kpi_from").set_value(start)
    at.date_input(key="kpi_to").set_value(end)
    at.button(key="kpi_apply").click().run()
    assert not at.exception, at.exception


def _values(array: object) -> list:
    """A plotly array from the figure JSON (plain list or base64 typed array)."""
    if isinstance(array, dict):
        raw = base64.b64decode(array["bdata"])
        return np.frombuffer(raw, dtype=np.dtype(array["dtype"])).tolist()
    return list(array)  # type: ignore[call-overload]


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _csv(files: dict[str, bytes], key: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(files[f"kpi_{key}_{PERIOD}.csv"]))


def test_manager_sees_every_kpi_with_charts(dash_db: DashWorld) -> None:
    at = _open(dash_db.kpi.manager)
    _period(at)
    assert not at.error
    assert _metric(at, "Installation SLA compliance") == "62.50%"
    assert _metric(at, "SLA breaches") == "3"
    assert _metric(at, "Revenue") == "₹1.01L"  # 1,01,000 in lakhs; exact in the tooltip
    assert (
        next(m for m in at.metric if m.label == "Revenue").help
        == "Exactly ₹1,01,000.00 (L = lakh, Cr = crore)"
    )
    assert _metric(at, "Avg days lead to installation") == "8.9"
    assert [t.label for t in at.tabs] == [
        "SLA",
        "Revenue",
        "Installation time",
        "Funnel",
        "Backlog ageing",
        "Team utilisation",
        "Stock below reorder",
    ]
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    # SLA by OEM, zone and month; revenue; days histogram; funnel; ageing; utilisation; stock.
    assert len(charts) == 9
    funnel = next(c for c in charts if c["data"][0]["type"] == "funnel")
    assert funnel["data"][0]["y"] == ["lead", "survey", "installation", "pack"]
    assert _values(funnel["data"][0]["x"]) == [11, 9, 7, 2]
    assert len(at.get("download_button")) == 11


def test_csv_downloads_have_the_figures(dash_db: DashWorld, downloads: dict[str, bytes]) -> None:
    at = _open(dash_db.kpi.manager)
    _period(at)
    sla = _csv(downloads, "sla_by_oem")
    assert list(sla.columns) == ["OEM", "Installations", "Within SLA", "Breached", "SLA %"]
    assert sla.values.tolist() == [["MG", 3, 2, 1, 66.67], ["TATA", 5, 3, 2, 60.0]]
    revenue = _csv(downloads, "revenue")
    assert list(revenue.columns) == ["Month", "OEM", "Installations", "Revenue INR", "Unpriced"]
    assert revenue.values.tolist() == [
        ["2026-10", "MG", 1, 10000.0, 0],
        ["2026-10", "TATA", 0, 0.0, 0],
        ["2026-11", "MG", 2, 20000.0, 0],
        ["2026-11", "TATA", 5, 71000.0, 0],
    ]
    breaches = _csv(downloads, "sla_breaches")
    assert breaches[["OEM", "Zone", "Business days", "Target"]].values.tolist() == [
        ["TATA", "BLR", 8, 7],
        ["TATA", "BLR", 13, 7],
        ["MG", "MUM", 16, 5],
    ]
    assert breaches["Completed"].tolist()[1] == "2026-11-10 00:15"  # local time
    util = _csv(downloads, "team_utilisation")
    row = util[(util["Team"] == "BLR-T1") & (util["Week from"] == "2026-11-09")]
    assert row[["Available slots", "Booked slots", "Utilisation %"]].values.tolist() == [
        [12, 4, 33.33]
    ]
    stock = _csv(downloads, "stock_below_reorder")
    assert stock[["Zone", "SKU", "Suggested order"]].values.tolist() == [
        ["BLR", "CAB-6", 8],
        ["MUM", "MCB-32", 5],
    ]


def test_oem_viewer_sees_only_its_oem(dash_db: DashWorld, downloads: dict[str, bytes]) -> None:
    at = _open(dash_db.kpi.mg_viewer)
    assert [s.key for s in at.selectbox] == ["kpi_zone"]  # the OEM is fixed
    _period(at)
    assert [t.label for t in at.tabs] == [
        "SLA",
        "Revenue",
        "Installation time",
        "Funnel",
        "Backlog ageing",
    ]
    assert _metric(at, "Revenue") == "₹30,000.00"
    assert set(_csv(downloads, "sla_by_oem")["OEM"]) == {"MG"}
    assert set(_csv(downloads, "revenue")["OEM"]) == {"MG"}
    assert set(_csv(downloads, "sla_breaches")["OEM"]) == {"MG"}
    assert not any("team_utilisation" in name or "stock" in name for name in downloads)


def test_reversed_period_shows_an_error(dash_db: DashWorld) -> None:
    at = _open(dash_db.kpi.manager)
    _period(at, date(2026, 11, 1), date(2026, 10, 1))
    assert any("to_month" in e.value for e in at.error)
    assert not at.get("plotly_chart")


def test_refused_role_sees_an_error(dash_db: DashWorld) -> None:
    at = _open(dash_db.kpi.field_engineer)
    assert at.error and not at.get("plotly_chart")


def test_cached_figures_refresh_after_a_write(dash_db: DashWorld, app_engine: Engine) -> None:
    at = _open(dash_db.kpi.manager)
    _period(at)
    assert _metric(at, "SLA breaches") == "3"

    def complete_late(ref_lead: str, when: datetime, scope) -> None:  # type: ignore[no-untyped-def]
        from domain.leads.models import Lead

        with scope() as s:
            lead_id = s.scalars(select(Lead.id).where(Lead.ref == ref_lead)).one()
            s.execute(
                update(Installation)
                .where(Installation.lead_id == lead_id)
                .values(status="completed", completed_at=when, install_level="standard")
            )

    # L3 (MG, received 11-18) completed 11-30: 9 business days (11-24 is a holiday) > 5,
    # a fourth breach.
    # Written behind the app's back (not through app.runtime): the page keeps its cached
    # figures for the TTL.
    complete_late(
        "LEAD-2026-00003",
        datetime(2026, 11, 30, 6, 30, tzinfo=UTC),
        lambda: session_scope(app_engine),
    )
    at.run()
    assert _metric(at, "SLA breaches") == "3"

    # A write scope through app.runtime that fails is rolled back and clears nothing.
    with pytest.raises(RuntimeError), runtime.session_scope() as s:
        s.execute(select(1))
        raise RuntimeError("boom")
    at.run()
    assert _metric(at, "SLA breaches") == "3"

    # A read-only scope clears nothing either.
    with runtime.session_scope(readonly=True) as s:
        s.execute(select(1))
    at.run()
    assert _metric(at, "SLA breaches") == "3"

    # Any committed write through app.runtime.session_scope drops the cache: fresh figures.
    with runtime.session_scope() as s:
        s.execute(select(1))
    at.run()
    assert not at.exception
    assert _metric(at, "SLA breaches") == "4"
    assert _metric(at, "Revenue") == "₹1.11L"  # + MG standard 10,000
