"""Reports page (AppTest): list, details, submit, acknowledge, download, queue a compile,
and OEM viewer isolation (fixture of ``tests.domain.test_report_figures``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

import domain.models  # noqa: F401
from db.engine import session_scope
from db.settings import get_settings
from domain.reporting.models import ReportRequest, ReportSubmission
from domain.reporting.reports import compile_monthly, compile_weekly, submit_report
from tests.domain.test_report_figures import WEEK_W, build_report_world, ist

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "reports.py")
NOW = ist(2026, 11, 2, 6, 0)


@pytest.fixture
def world(app_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    with session_scope(app_engine) as s:
        w = build_report_world(s)
        tata = compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, now=NOW)
        mg = compile_weekly(s, w.reporter, oem_id=w.mg_id, week_start=WEEK_W, now=NOW)
        oct_ = compile_monthly(s, w.reporter, oem_id=w.tata_id, month=date(2026, 10, 1), now=NOW)
    yield {"engine": app_engine, "w": w, "tata": tata.id, "mg": mg.id, "oct": oct_.id}
    get_settings.cache_clear()


def _open(actor) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    return at.run()


def _df(at: AppTest, column: str, nth: int = 0):  # type: ignore[no-untyped-def]
    """The nth dataframe having ``column`` (AppTest dataframes carry no key)."""
    found = [d.value for d in at.dataframe if column in d.value.columns]
    return found[nth]


def test_reporter_lists_submits_and_downloads(world: dict) -> None:
    at = _open(world["w"].reporter)
    assert not at.exception
    table = _df(at, "Packs submitted")
    assert sorted(table["OEM"]) == ["MG", "TATA"]
    assert set(table["Status"]) == {"compiled"}
    at.selectbox(key="rep_weekly_pick").select("TATA · 28 Sep 2026 – 04 Oct 2026 · v1").run()
    assert not at.exception
    assert any(m.label == "Leads received" and m.value == "4" for m in at.metric)
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download PDF" in labels
    at.button(key="rep_weekly_submit").click().run()
    assert not at.exception
    assert any("Submitted to the OEM" in s.value for s in at.success)
    at.button(key="rep_weekly_ack").click().run()
    assert any("Acknowledgement recorded" in s.value for s in at.success)
    with session_scope(world["engine"], readonly=True) as s:
        sub = s.execute(select(ReportSubmission)).scalar_one()
        assert sub.report_id == world["tata"] and sub.acknowledged


def test_monthly_tab_shows_money_and_breaches(world: dict) -> None:
    at = _open(world["w"].manager)
    assert not at.exception
    monthly = _df(at, "Revenue")
    assert list(monthly["Revenue"]) == ["₹52,000.00"]
    assert list(monthly["SLA %"]) == ["40.00"]
    assert _df(at, "installation_ref").shape[0] == 3
    assert not at.get("form") or all("req" not in f.proto.form_id for f in at.get("form"))


def test_queue_a_compile(world: dict) -> None:
    at = _open(world["w"].reporter)
    at.date_input(key="rep_weekly_req_day").set_value(date(2026, 10, 7))
    at.button(key="rep_weekly_req_submit").click().run()
    assert not at.exception
    assert any("Queued: weekly report" in s.value for s in at.success), [e.value for e in at.error]
    at.button(key="rep_weekly_req_submit").click().run()
    assert any("Already queued" in i.value for i in at.info)
    with session_scope(world["engine"], readonly=True) as s:
        req = s.execute(select(ReportRequest)).scalar_one()
        assert req.period_start == date(2026, 10, 5) and req.status == "queued"


def test_oem_viewer_sees_only_its_submitted_reports_read_only(world: dict) -> None:
    with session_scope(world["engine"]) as s:
        for rid in (world["tata"], world["mg"]):
            submit_report(s, world["w"].reporter, report_type="weekly", report_id=rid)
    at = _open(world["w"].tata_viewer)
    assert not at.exception
    table = _df(at, "Packs submitted")
    assert list(table["OEM"]) == ["TATA"]
    assert not at.button  # no submit/acknowledge/queue for a viewer
    assert [b.proto.label for b in at.get("download_button")] == ["Download PDF"]
    # the October monthly report is not submitted: invisible to the viewer
    assert any("No reports yet" in i.value for i in at.info)
