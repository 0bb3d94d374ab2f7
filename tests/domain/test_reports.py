"""Weekly/monthly report commands: frozen snapshots, versions, submit, acknowledge, isolation,
the month lock and the compile queue, on SQLite and PostgreSQL (fixture of
``test_report_figures``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from db.engine import session_scope
from db.settings import get_settings
from domain.errors import Conflict, NotFound, PermissionDenied, TransitionError, ValidationError
from domain.installations.models import Installation
from domain.reporting import queue
from domain.reporting.models import (
    MonthlyReport,
    ReportRequest,
    ReportSubmission,
    ReportVersion,
    WeeklyReport,
)
from domain.reporting.reports import (
    acknowledge_report,
    compile_monthly,
    compile_weekly,
    get_report,
    list_reports,
    report_pdf,
    submit_report,
)
from tests.domain.test_report_figures import WEEK_W, build_report_world, ist

NOW = ist(2026, 11, 2, 6, 0)  # a Monday morning after everything


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    d = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(d))
    get_settings.cache_clear()
    yield d
    get_settings.cache_clear()


def _count(engine: Engine, model: type) -> int:
    with session_scope(engine, readonly=True) as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_compile_weekly_is_a_frozen_snapshot(engine: Engine, data_dir: Path) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
    with session_scope(engine) as s:
        r1 = compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, now=NOW)
    assert r1.changed and r1.version == 1 and r1.status == "compiled"
    assert (r1.total_leads, r1.surveys_completed, r1.installations_completed) == (4, 3, 1)
    assert r1.closure_packs_submitted == 2
    assert r1.period_end == date(2026, 10, 4)
    assert (data_dir / r1.report_file).is_file()
    assert r1.report_file == "reports/weekly/TATA/2026-09-28-v1.pdf"
    with session_scope(engine) as s:
        r2 = compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, now=NOW)
    assert not r2.changed and r2.version == 1 and r2.compiled_at == r1.compiled_at
    assert r2.details == r1.details
    assert _count(engine, WeeklyReport) == 1 and _count(engine, ReportVersion) == 0


def test_changed_data_bumps_version_and_keeps_old_figures(engine: Engine) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
        compile_monthly(s, w.reporter, oem_id=w.tata_id, month=date(2026, 10, 1), now=NOW)
    with session_scope(engine) as s:  # I8 gets a level: October revenue + 11,000
        s.execute(
            update(Installation)
            .where(Installation.ref == "INS-2026-00006")
            .values(install_level="standard")
        )
    with session_scope(engine) as s:
        r = compile_monthly(
            s,
            w.reporter,
            oem_id=w.tata_id,
            month=date(2026, 10, 1),
            reason="level corrected",
            now=NOW,
        )
    assert r.changed and r.version == 2 and r.total_revenue == Decimal("63000.00")
    assert r.report_file.endswith("2026-10-01-v2.pdf")
    with session_scope(engine, readonly=True) as s:
        d = get_report(s, w.manager, report_type="monthly", report_id=r.id)
    assert [v.version for v in d.versions] == [1]
    assert d.versions[0].figures["total_revenue"] == "52000.00"
    assert d.versions[0].reason == "level corrected"
    assert d.version_note.startswith("v2, recompiled on ") and "because level corrected" in (
        d.version_note
    )


def test_submitted_report_needs_force_and_reason(engine: Engine) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
        r = compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, now=NOW)
        submit_report(s, w.reporter, report_type="weekly", report_id=r.id)
    with session_scope(engine) as s, pytest.raises(Conflict):
        compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, now=NOW)
    with session_scope(engine) as s, pytest.raises(ValidationError):
        compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, force=True, now=NOW)
    # forced but unchanged: nothing changes, it stays submitted
    with session_scope(engine) as s:
        same = compile_weekly(
            s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, force=True, reason="check"
        )
    assert not same.changed and same.status == "submitted" and same.version == 1
    with session_scope(engine) as s:  # a late lead in week W
        s.execute(
            update(Installation)
            .where(Installation.ref == "INS-2026-00001")
            .values(completed_at=ist(2026, 10, 4, 10))
        )
    with session_scope(engine) as s:
        v2 = compile_weekly(
            s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, force=True, reason="late data"
        )
    assert v2.changed and v2.version == 2 and v2.installations_completed == 2
    assert v2.status == "compiled"  # must be submitted again
    with session_scope(engine) as s:
        again = submit_report(s, w.reporter, report_type="weekly", report_id=r.id)
    assert again.status == "submitted"
    assert _count(engine, ReportSubmission) == 2


def test_submit_and_acknowledge(engine: Engine) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
        r = compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, now=NOW)
    with session_scope(engine) as s, pytest.raises(TransitionError):
        acknowledge_report(s, w.reporter, report_type="weekly", report_id=r.id)
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        submit_report(s, w.manager, report_type="weekly", report_id=r.id)
    with session_scope(engine) as s:
        sub = submit_report(s, w.reporter, report_type="weekly", report_id=r.id)
    assert sub.status == "submitted" and sub.submitted_at is not None
    with session_scope(engine) as s, pytest.raises(Conflict):
        submit_report(s, w.reporter, report_type="weekly", report_id=r.id)
    with session_scope(engine) as s:
        ack = acknowledge_report(s, w.reporter2, report_type="weekly", report_id=r.id)
    assert ack.status == "acknowledged"
    with session_scope(engine) as s, pytest.raises(Conflict):
        acknowledge_report(s, w.reporter2, report_type="weekly", report_id=r.id)
    with session_scope(engine, readonly=True) as s:
        row = s.execute(select(ReportSubmission)).scalar_one()
        assert row.acknowledged and row.acknowledged_at is not None
        assert row.report_type == "weekly" and row.oem_id == w.tata_id
        [listed] = list_reports(s, w.manager, report_type="weekly")
    assert listed.status == "acknowledged"


def test_oem_viewer_sees_only_its_submitted_reports(engine: Engine) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
        tata = compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, now=NOW)
        mg = compile_weekly(s, w.reporter, oem_id=w.mg_id, week_start=WEEK_W, now=NOW)
    with session_scope(engine, readonly=True) as s:
        assert list_reports(s, w.tata_viewer, report_type="weekly") == []  # not submitted yet
        assert len(list_reports(s, w.manager, report_type="weekly")) == 2
    with session_scope(engine) as s:
        submit_report(s, w.reporter, report_type="weekly", report_id=tata.id)
        submit_report(s, w.reporter, report_type="weekly", report_id=mg.id)
    with session_scope(engine, readonly=True) as s:
        seen = list_reports(s, w.tata_viewer, report_type="weekly", oem_id=w.mg_id)
        assert [r.oem_code for r in seen] == ["TATA"]
        assert get_report(s, w.tata_viewer, report_type="weekly", report_id=tata.id)
        name, data = report_pdf(s, w.tata_viewer, report_type="weekly", report_id=tata.id)
        assert data.startswith(b"%PDF") and "TATA" in name
        with pytest.raises(NotFound):
            get_report(s, w.tata_viewer, report_type="weekly", report_id=mg.id)
        with pytest.raises(NotFound):
            report_pdf(s, w.tata_viewer, report_type="weekly", report_id=mg.id)
        with pytest.raises(NotFound):
            report_pdf(s, w.mg_viewer, report_type="weekly", report_id=tata.id)
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        compile_weekly(s, w.tata_viewer, oem_id=w.tata_id, week_start=WEEK_W, now=NOW)
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        acknowledge_report(s, w.tata_viewer, report_type="weekly", report_id=tata.id)
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        queue.request_report(
            s, w.tata_viewer, report_type="weekly", oem_id=w.tata_id, period_start=WEEK_W
        )


def test_validation(engine: Engine) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
    with session_scope(engine) as s, pytest.raises(ValidationError):
        compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=date(2026, 9, 29), now=NOW)
    with session_scope(engine) as s, pytest.raises(ValidationError):
        compile_monthly(s, w.reporter, oem_id=w.tata_id, month=date(2026, 10, 2), now=NOW)
    with session_scope(engine) as s, pytest.raises(ValidationError):  # week not over
        compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=date(2026, 11, 2), now=NOW)


def test_closed_month_refuses_monthly_compile(engine: Engine) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
        compile_monthly(s, w.reporter, oem_id=w.tata_id, month=date(2026, 10, 1), now=NOW)
        s.execute(update(MonthlyReport).values(status="closed"))
    with session_scope(engine) as s, pytest.raises(TransitionError):
        compile_monthly(
            s,
            w.reporter,
            oem_id=w.tata_id,
            month=date(2026, 10, 1),
            force=True,
            reason="x",
            now=NOW,
        )


def test_request_report_is_idempotent_while_pending(engine: Engine) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
        a = queue.request_report(
            s, w.reporter, report_type="weekly", oem_id=w.tata_id, period_start=WEEK_W
        )
        b = queue.request_report(
            s, w.reporter2, report_type="weekly", oem_id=w.tata_id, period_start=WEEK_W
        )
    assert a.created and not b.created and a.id == b.id and a.requested_by == "reporter"
    summary = queue.run_pending(engine, 10, now=NOW)
    assert summary.done == (a.id,)
    with session_scope(engine) as s:
        c = queue.request_report(
            s, w.reporter, report_type="weekly", oem_id=w.tata_id, period_start=WEEK_W
        )
    assert c.created and c.id != a.id  # the first one is done: a new request may be queued
    with session_scope(engine, readonly=True) as s:
        req = s.get(ReportRequest, a.id)
        assert req is not None and req.status == "done" and req.report_id is not None
        assert s.execute(select(func.count()).select_from(WeeklyReport)).scalar_one() == 1


def test_queue_retries_then_fails_and_domain_errors_fail_at_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
        req = queue.request_report(
            s, w.reporter, report_type="monthly", oem_id=w.tata_id, period_start=date(2026, 9, 1)
        )
    calls = {"n": 0}

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        raise OSError("disk full")

    monkeypatch.setattr("domain.reporting.reports.write_report_pdf", broken)
    for expected in ("queued", "queued", "failed"):
        queue.run_pending(engine, 10, now=NOW)
        with session_scope(engine, readonly=True) as s:
            row = s.get(ReportRequest, req.id)
            assert row is not None and row.status == expected
            assert row.error == "OSError: disk full"
    assert calls["n"] == 3 and _count(engine, MonthlyReport) == 0
    # a domain error is final at once: the week of a submitted report without force
    monkeypatch.undo()
    with session_scope(engine) as s:
        r = compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, now=NOW)
        submit_report(s, w.reporter, report_type="weekly", report_id=r.id)
        bad = queue.request_report(
            s, w.reporter, report_type="weekly", oem_id=w.tata_id, period_start=WEEK_W
        )
    summary = queue.run_pending(engine, 10, now=NOW)
    assert summary.failed == (bad.id,)


@pytest.mark.parametrize("workers", [4])
def test_concurrent_workers_compile_each_request_once(engine: Engine, workers: int) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
        ids = [
            queue.request_report(
                s,
                w.reporter,
                report_type="weekly",
                oem_id=oem,
                period_start=WEEK_W - timedelta(days=7 * k),
            ).id
            for oem in (w.tata_id, w.mg_id)
            for k in range(3)
        ]
    results: list[queue.RunSummary] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(workers)

    def work() -> None:
        try:
            barrier.wait()
            results.append(queue.run_pending(engine, 20, now=NOW))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    done = [i for r in results for i in r.done]
    assert sorted(done) == sorted(ids)  # each exactly once, none failed
    assert _count(engine, WeeklyReport) == 6


def test_report_ready_notification_once_per_version_and_lost_pdf_rerendered(
    engine: Engine, data_dir: Path
) -> None:
    from domain.notifications.models import Notification

    with session_scope(engine) as s:
        w = build_report_world(s)
        r = compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, now=NOW)
    (data_dir / r.report_file).unlink()
    with session_scope(engine) as s:
        again = compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, now=NOW)
    assert not again.changed and again.version == 1
    assert (data_dir / again.report_file).is_file()
    with session_scope(engine, readonly=True) as s:
        notes = s.execute(select(Notification.kind, Notification.recipient_role)).all()
    assert notes == [("report_ready", "oem_reporting")]
