"""The sidecar's log: a skipped poll of the report queue is not a warning; any other skipped
job still is (scheduler.runner.SkippedPollFilter)."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from scheduler.jobs import JOBS
from scheduler.runner import SkippedPollFilter


@pytest.fixture
def filtered() -> logging.Logger:
    logger = logging.getLogger("apscheduler.scheduler")
    flt = SkippedPollFilter()
    logger.addFilter(flt)
    yield logger
    logger.removeFilter(flt)


def _run_until_skipped(name: str) -> None:
    """A real APScheduler whose job (named like one of ours) is still running when its next
    run is due, so APScheduler logs its "skipped" warning."""
    release = threading.Event()
    sched = BackgroundScheduler()
    sched.add_job(release.wait, "interval", seconds=1, name=name, max_instances=1, args=[10])
    sched.start()
    try:
        time.sleep(3.5)
    finally:
        release.set()
        sched.shutdown(wait=True)


def test_a_skipped_report_queue_poll_is_not_logged(
    filtered: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="apscheduler")
    _run_until_skipped(JOBS["report_queue"].description)
    assert not [r for r in caplog.records if "skipped" in r.getMessage()]


def test_a_skipped_run_of_another_job_is_still_a_warning(
    filtered: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="apscheduler")
    _run_until_skipped(JOBS["monthly_reports"].description)
    skipped = [r for r in caplog.records if "skipped" in r.getMessage()]
    assert skipped and all(r.levelno == logging.WARNING for r in skipped)
