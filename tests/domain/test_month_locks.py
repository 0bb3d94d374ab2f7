"""A closed month is locked (seed 003): every command that would change an installation
completed in it, its allocations, its closure pack or the monthly report is refused with
``MonthLocked``, and nothing changes -- no row, no audit event, no file. SQLite and PostgreSQL.

The world is ``test_month_closure.build_month_world``; TATA's October 2026 is closed by the
manager with exceptions before each case. B (completed 21 Oct, ``completed``), A and C
(``report_submitted``, packs submitted / compiled) are October's; D (November) and E (MG's
October) are not locked.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from db.base import Base
from db.engine import session_scope
from db.settings import get_settings
from db.types import utcnow
from domain.calendar import local_date
from domain.installations import reports as inst_reports
from domain.installations import scheduling, service
from domain.procurement import allocations
from domain.reporting import packs
from domain.reporting.models import MonthlyReport
from domain.reporting.months import MonthLocked, reopen_month, set_evidence_url
from domain.reporting.reports import compile_monthly
from tests.domain.test_month_closure import (
    OCT,
    MonthWorld,
    build_month_world,
    close_october_with_exceptions,
)


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


PNG = _png()


def _future() -> date:
    return local_date(utcnow()) + timedelta(days=3)


Case = Callable[[Session, MonthWorld, Path], Any]

CASES: dict[str, Case] = {
    # installation lifecycle (domain.installations.service)
    "transition_report_submitted": lambda s, w, d: service.transition(
        s, w.admin, installation_id=w.b_id, to_status="report_submitted"
    ),
    "transition_rescheduled": lambda s, w, d: service.transition(
        s, w.admin, installation_id=w.b_id, to_status="rescheduled", reason="customer away"
    ),
    "transition_cancelled": lambda s, w, d: service.transition(
        s, w.admin, installation_id=w.b_id, to_status="cancelled", reason="duplicate"
    ),
    "transition_closed": lambda s, w, d: service.transition(
        s, w.admin, installation_id=w.a_id, to_status="closed"
    ),
    "field_engineer_transition": lambda s, w, d: service.transition(
        s, w.engineer, installation_id=w.b_id, to_status="completed"
    ),
    "reschedule": lambda s, w, d: service.reschedule(
        s, w.admin, installation_id=w.b_id, reason="redo", new_date=_future(), new_slot="09-12"
    ),
    "cancel": lambda s, w, d: service.cancel(
        s, w.admin, installation_id=w.b_id, reason="duplicate"
    ),
    "demo": lambda s, w, d: service.set_demo_completed(
        s, w.admin, installation_id=w.b_id, done=False
    ),
    "confirmation_call": lambda s, w, d: service.record_customer_confirmation(
        s, w.admin, installation_id=w.b_id, outcome="declined"
    ),
    # report and media (domain.installations.reports)
    "installation_report": lambda s, w, d: inst_reports.submit_installation_report(
        s,
        w.admin,
        installation_id=w.b_id,
        charger_serial="SN-LATE-1",
        charger_model_id=w.charger_id,
        success=True,
        issues=None,
        demo_done=True,
        demo_signed_off=True,
        signature=PNG,
        signature_name="sig.png",
        data_dir=d,
    ),
    "installation_media": lambda s, w, d: inst_reports.add_installation_media(
        s, w.admin, installation_id=w.c_id, data=PNG, filename="site.png", kind="photo", data_dir=d
    ),
    # team assignments (domain.installations.scheduling)
    "book": lambda s, w, d: scheduling.book(
        s,
        w.admin,
        installation_id=w.b_id,
        work_date=_future(),
        time_slot="09-12",
        team_id=w.team2_id,
    ),
    "move": lambda s, w, d: scheduling.move(
        s, w.admin, installation_id=w.b_id, work_date=_future(), time_slot="12-15"
    ),
    "unassign": lambda s, w, d: scheduling.unassign(
        s, w.admin, installation_id=w.b_id, reason="team sick"
    ),
    "reassign_emergency": lambda s, w, d: scheduling.reassign_emergency(
        s, w.admin, installation_id=w.b_id, backup_team_id=w.team2_id, reason="van broke down"
    ),
    "standby_backup": lambda s, w, d: scheduling.set_standby_backup(
        s, w.admin, installation_id=w.b_id, team_id=w.team2_id
    ),
    # material (domain.procurement.allocations)
    "allocate": lambda s, w, d: allocations.allocate(
        s, w.procurement, installation_id=w.b_id, material_id=w.charger_id, quantity=1
    ),
    "allocate_installation": lambda s, w, d: allocations.allocate_installation(
        s, w.procurement, installation_id=w.b_id
    ),
    "dispatch": lambda s, w, d: allocations.dispatch(
        s, w.procurement, allocation_id=w.alloc_b_allocated
    ),
    "deliver": lambda s, w, d: allocations.deliver(
        s, w.procurement, allocation_id=w.alloc_b_dispatched
    ),
    "return": lambda s, w, d: allocations.return_allocation(
        s, w.procurement, allocation_id=w.alloc_a_delivered, reason="spare"
    ),
    # closure packs (domain.reporting.packs)
    "compile_pack": lambda s, w, d: packs.compile_pack(
        s, w.reporting, installation_id=w.c_id, data_dir=d
    ),
    "submit_pack": lambda s, w, d: packs.submit_pack(
        s, w.reporting, pack_id=w.pack_c_id, data_dir=d
    ),
    "pack_evidence": lambda s, w, d: packs.add_pack_evidence(
        s,
        w.reporting,
        pack_id=w.pack_c_id,
        evidence="site_photo",
        data=PNG,
        filename="site.png",
        data_dir=d,
    ),
    "pack_confirmation_call": lambda s, w, d: packs.record_confirmation_call(
        s, w.reporting, pack_id=w.pack_c_id, outcome="confirmed"
    ),
    "oem_accepts_pack": lambda s, w, d: packs.record_oem_response(
        s, w.reporting, pack_id=w.pack_a_id, response="accepted"
    ),
    "oem_asks_revision": lambda s, w, d: packs.record_oem_response(
        s, w.reporting, pack_id=w.pack_a_id, response="revision_needed", reason="blurry photo"
    ),
    # the monthly report itself
    "compile_monthly": lambda s, w, d: compile_monthly(s, w.reporting, oem_id=w.tata_id, month=OCT),
    "recompile_monthly_forced": lambda s, w, d: compile_monthly(
        s, w.reporting, oem_id=w.tata_id, month=OCT, force=True, reason="late lead"
    ),
    "evidence_link": lambda s, w, d: set_evidence_url(
        s, w.manager, oem_id=w.tata_id, month=OCT, evidence_url="https://files.example.in/x"
    ),
}


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (ordered by primary key): 'nothing changed' means equal."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as c:
        for table in Base.metadata.sorted_tables:
            pk = ", ".join(col.name for col in table.primary_key.columns)
            rows = c.execute(text(f'SELECT * FROM "{table.name}" ORDER BY {pk}')).all()
            out[table.name] = [tuple(r) for r in rows]
    return out


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("DATA_DIR", str(root))
    get_settings.cache_clear()
    yield root
    get_settings.cache_clear()


@pytest.fixture
def closed(engine: Engine, data_dir: Path) -> MonthWorld:
    with session_scope(engine) as s:
        w = build_month_world(s)
    close_october_with_exceptions(engine, w)
    return w


@pytest.mark.parametrize("name", list(CASES))
def test_every_change_to_a_closed_month_is_refused(
    engine: Engine, closed: MonthWorld, data_dir: Path, name: str
) -> None:
    before, before_files = dump(engine), files(data_dir)
    with pytest.raises(MonthLocked) as err, session_scope(engine) as s:
        CASES[name](s, closed, data_dir)
    assert "TATA October 2026 is closed" in str(err.value)
    assert dump(engine) == before
    assert files(data_dir) == before_files


def test_an_invoiced_month_stays_locked(engine: Engine, closed: MonthWorld, data_dir: Path) -> None:
    from domain.reporting.months import mark_invoiced

    with session_scope(engine) as s:
        mark_invoiced(s, closed.manager, oem_id=closed.tata_id, month=OCT)
    for name in ("transition_rescheduled", "deliver", "oem_accepts_pack", "compile_monthly"):
        with pytest.raises(MonthLocked, match="is invoiced"), session_scope(engine) as s:
            CASES[name](s, closed, data_dir)


def test_other_months_and_other_oems_are_not_locked(
    engine: Engine, closed: MonthWorld, data_dir: Path
) -> None:
    w = closed
    # D: TATA, completed in November (open); E: MG, completed in October (MG's is open).
    for iid in (w.d_id, w.e_id):
        with session_scope(engine) as s:
            service.set_demo_completed(s, w.admin, installation_id=iid, done=True)
            service.transition(
                s, w.admin, installation_id=iid, to_status="rescheduled", reason="redo"
            )


def test_reopening_the_month_unlocks_it(engine: Engine, closed: MonthWorld, data_dir: Path) -> None:
    w = closed
    with session_scope(engine) as s:
        reopen_month(s, w.admin, oem_id=w.tata_id, month=OCT, reason="B's serial was wrong")
    with session_scope(engine) as s:
        service.set_demo_completed(s, w.admin, installation_id=w.b_id, done=False)
        allocations.deliver(s, w.procurement, allocation_id=w.alloc_b_dispatched)
        compile_monthly(s, w.reporting, oem_id=w.tata_id, month=OCT)
    with session_scope(engine, readonly=True) as s:
        row = s.execute(select(MonthlyReport).where(MonthlyReport.month == OCT)).scalar_one()
        assert (row.status, row.installations_completed) == ("open", 3)
        assert row.compiled_at is not None
