"""A command interrupted half-way leaves no partial state (issue 6 item 4), on both databases.

A child process imports a 1,500-row lead sheet; once the ``lead`` rows have been sent to the
database (its own transaction sees them) it freezes and is killed with SIGKILL. Afterwards no
row of that import exists (leads, the ``lead_import`` record, its audit event, the ref
counter's reservation), and the same import then succeeds in full.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, func, select, text

from db.engine import session_scope
from domain.accounts.models import AuditEvent, RefCounter
from domain.leads.importer import import_leads
from domain.leads.models import Lead, LeadImport
from tests.fixtures.lead_sheets import csv_bytes, generated_rows, seed_reference

ROOT = Path(__file__).resolve().parents[2]
ROWS = 1500


def _snapshot(engine: Engine) -> dict[str, object]:
    with session_scope(engine, readonly=True) as s:
        return {
            "leads": s.scalar(select(func.count(Lead.id))),
            "imports": s.scalar(select(func.count(LeadImport.id))),
            "audit": s.scalar(select(func.count(AuditEvent.id))),
            "counters": sorted(
                s.execute(select(RefCounter.prefix, RefCounter.year, RefCounter.last_value)).all()
            ),
        }


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _wait_for(cond, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_import_killed_half_way_leaves_no_partial_state(engine: Engine, tmp_path: Path) -> None:
    with session_scope(engine) as s:
        ref = seed_reference(s)
    before = _snapshot(engine)
    sheet = tmp_path / "big.csv"
    sheet.write_bytes(csv_bytes(generated_rows(ROWS)))
    frozen = tmp_path / "frozen"
    log = tmp_path / "child.log"
    with log.open("wb") as out:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.faults.interrupted_import_child",
                _url(engine),
                str(ref["ops"].user_id),
                str(ref["mg_id"]),
                str(sheet),
                str(frozen),
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(lambda: frozen.exists() or child.poll() is not None, 120, "the import to freeze")
        assert frozen.exists(), f"child exited {child.returncode}: {log.read_text()[-3000:]}"
        seen_inside = int(frozen.read_text())
        # the child's open transaction really holds the new rows when it is killed
        assert seen_inside >= before["leads"] + 1  # type: ignore[operator]
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)

    if engine.dialect.name == "postgresql":
        # the server notices the dead client at once; wait until its backend is gone
        def backend_gone() -> bool:
            with engine.connect() as c:
                return not c.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE application_name = 'chargeops-interrupted-child'"
                    )
                ).scalar()

        _wait_for(backend_gone, 30, "the killed client's backend to end")

    assert _snapshot(engine) == before

    # nothing half-done stands in the way: the same import now goes through in full
    with session_scope(engine) as s:
        result = import_leads(
            s, ref["ops"], oem_id=ref["mg_id"], filename="big.csv", content=sheet.read_bytes()
        )
    assert (result.imported, result.rejected) == (ROWS, 0)
    after = _snapshot(engine)
    assert after["leads"] == before["leads"] + ROWS  # type: ignore[operator]
    assert after["imports"] == before["imports"] + 1  # type: ignore[operator]
