"""Scheduler page (AppTest): job_run history, report queue, "run now" queues; admin only."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

import domain.models  # noqa: F401
from db.engine import session_scope
from db.settings import get_settings
from domain.reporting.models import ReportRequest
from scheduler.jobs import run_job, weekly_reports_job
from tests.domain.test_report_figures import build_report_world, ist

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "scheduler.py")


@pytest.fixture
def world(app_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    with session_scope(app_engine) as s:
        w = build_report_world(s)
    result = run_job(
        app_engine, "weekly_reports", partial(weekly_reports_job, now=ist(2026, 10, 5, 6)), "h:1"
    )
    assert result.ok
    yield {"engine": app_engine, "w": w}
    get_settings.cache_clear()


def _open(actor) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    return at.run()


def _df(at: AppTest, column: str):  # type: ignore[no-untyped-def]
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_admin_sees_runs_and_queue(world: dict) -> None:
    at = _open(world["w"].admin)
    assert not at.exception
    runs = _df(at, "job_name")
    assert list(runs["job_name"]) == ["weekly_reports"]
    assert list(runs["status"]) == ["succeeded"]
    assert "compiled 5" in runs["detail"].iloc[0]  # TATA 09-07..09-28 (4) + MG 09-28 (1)
    queue_df = _df(at, "Attempts")
    assert set(queue_df["Status"]) == {"done"} and len(queue_df) == 5


def test_run_now_queues(world: dict) -> None:
    at = _open(world["w"].admin)
    at.selectbox(key="sched_run_kind").select("monthly")
    at.button(key="sched_run_submit").click().run()
    assert not at.exception
    assert any("Queued 2 monthly report(s)" in s.value for s in at.success), [
        e.value for e in at.error
    ]
    with session_scope(world["engine"], readonly=True) as s:
        queued = (
            s.execute(select(ReportRequest.report_type).where(ReportRequest.status == "queued"))
            .scalars()
            .all()
        )
    assert queued == ["monthly", "monthly"]


@pytest.mark.parametrize("who", ["manager", "reporter", "tata_viewer"])
def test_non_admins_are_refused(world: dict, who: str) -> None:
    at = _open(getattr(world["w"], who))
    assert any("Only administrators" in e.value for e in at.error)
    assert not at.dataframe
