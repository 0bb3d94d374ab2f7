"""Allocations page (AppTest) on a temporary SQLite file database: BOM with shortfall, allocate
from the page, raise procurement requests for the shortfall, dispatch/deliver every line until
the installation is material ready, and a return."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from db.engine import session_scope
from domain.installations.models import Installation
from domain.procurement.models import MaterialAllocation, MaterialStock, ProcurementRequest
from tests.domain.test_stock import ProcWorld, add_job, build_proc_world

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "allocations.py")


@pytest.fixture
def world(app_engine: Engine) -> tuple[ProcWorld, object]:
    with session_scope(app_engine) as s:
        # no charger in stock: a shortfall of 1 on CHG-72
        pw = build_proc_world(s, {"CHG-72": 0, "CBL-6MM": 100, "ELE-MCB-32A": 10, "MNT-WALL": 10})
        iid = add_job(s, pw, survey_lines={pw.cable_id: 15})
    return pw, iid


def _open(actor) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    return at.run()


def _bom(at: AppTest):  # type: ignore[no-untyped-def]
    for df in at.dataframe:
        if "Shortfall" in df.value.columns:
            return df.value.set_index("SKU")
    raise AssertionError("no BOM table")


def _status(engine: Engine, iid) -> tuple[str, bool]:  # type: ignore[no-untyped-def]
    with session_scope(engine, readonly=True) as s:
        inst = s.get(Installation, iid)
        assert inst is not None
        return inst.status, inst.material_ready


def test_allocate_and_raise_requests_for_shortfall(app_engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    pw, iid = world
    at = _open(pw.buyer)
    assert not at.exception
    bom = _bom(at)
    assert int(bom.loc["CBL-6MM", "Required"]) == 15
    assert int(bom.loc["CHG-72", "Shortfall"]) == 1
    downloads = [e for e in at.get("download_button") if e.proto.label.startswith("Download bill")]
    assert len(downloads) == 1
    at = at.button(key="alloc_allocate").click().run()
    assert not at.exception and not at.error
    message = at.success[0].value
    assert "CBL-6MM × 15" in message and "CHG-72 short by 1" in message
    assert _status(app_engine, iid) == ("material_pending", False)
    with session_scope(app_engine, readonly=True) as s:
        assert (
            s.execute(
                select(MaterialStock.quantity_available).where(
                    MaterialStock.id == pw.stock["CBL-6MM"]
                )
            ).scalar_one()
            == 85
        )
    bom = _bom(at)
    assert int(bom.loc["CBL-6MM", "Missing"]) == 0 and int(bom.loc["CHG-72", "Missing"]) == 1
    at = at.button(key="alloc_raise").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Raised" in at.success[0].value
    with session_scope(app_engine, readonly=True) as s:
        reqs = s.execute(
            select(ProcurementRequest.material_id, ProcurementRequest.quantity).where(
                ProcurementRequest.installation_id == iid
            )
        ).all()
    assert [tuple(r) for r in reqs] == [(pw.charger_id, 1)]


def test_dispatch_and_deliver_to_material_ready(app_engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    pw, iid = world
    with session_scope(app_engine) as s:  # the charger arrives first
        from domain.procurement.stock import receive_stock

        receive_stock(
            s, pw.buyer, material_id=pw.charger_id, zone_id=pw.zone_id, quantity=1, reason=None
        )
    at = _open(pw.buyer)
    at = at.button(key="alloc_allocate").click().run()
    assert "Not allocated" not in at.success[0].value
    for _ in range(4):
        label = next(o for o in at.selectbox(key="alloc_pick").options if "(allocated)" in o)
        at.selectbox(key="alloc_pick").set_value(label).run()
        at = at.button(key="alloc_dispatch").click().run()
        assert not at.error, [e.value for e in at.error]
        label = label.replace("(allocated)", "(dispatched)")
        at.selectbox(key="alloc_pick").set_value(label).run()
        at = at.button(key="alloc_deliver").click().run()
        assert not at.error, [e.value for e in at.error]
    assert _status(app_engine, iid) == ("material_ready", True)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Material ready"] == "Yes"
    # a return before the job clears it again
    label = next(o for o in at.selectbox(key="alloc_pick").options if o.startswith("CHG-72"))
    at.selectbox(key="alloc_pick").set_value(label).run()
    at.text_input(key="alloc_return_reason").set_value("wrong model")
    at = at.button(key="alloc_return").click().run()
    assert not at.error
    assert _status(app_engine, iid) == ("material_pending", False)
    with session_scope(app_engine, readonly=True) as s:
        statuses = sorted(s.execute(select(MaterialAllocation.status)).scalars())
    assert statuses == ["delivered", "delivered", "delivered", "returned"]


def test_read_only_roles_see_no_actions(app_engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    pw, _ = world
    at = _open(pw.w.ops)  # central ops may read and raise requests, not allocate
    assert not at.exception
    assert not [b for b in at.button if b.key == "alloc_allocate"]
    at = _open(pw.w.tata_viewer)
    assert any("may not see allocations" in e.value for e in at.error)
