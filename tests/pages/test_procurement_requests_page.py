"""Procurement requests page (AppTest) on a temporary SQLite file database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

import domain.models  # noqa: F401
from db.engine import session_scope
from domain.installations.models import Installation
from domain.procurement.models import MaterialStock, ProcurementRequest, StockMovement
from domain.procurement.requests import create_request
from tests.domain.test_procurement_requests import procurement_world

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "procurement_requests.py")


@pytest.fixture
def world(app_engine: Engine) -> dict:
    with session_scope(app_engine) as s:
        pw = procurement_world(s)
        w = pw["w"]
        small = create_request(
            s,
            w.procurement,
            installation_id=pw["inst"],
            material_id=pw["cable"],
            quantity=10,
            estimated_cost="1200",
        )
        big = create_request(
            s,
            w.procurement,
            installation_id=pw["inst"],
            material_id=w.charger_id,
            quantity=1,
            estimated_cost="32000",
        )
        pw["inst_ref"] = s.get(Installation, pw["inst"]).ref
    pw.update(engine=app_engine, small=small.ref, big=big.ref, small_id=small.id)
    return pw


def _open(actor) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    return at.run()


def _table(at: AppTest):  # type: ignore[no-untyped-def]
    for df in at.dataframe:
        if "Ref" in df.value.columns:
            return df.value
    raise AssertionError("no request table")


def _count(engine: Engine) -> int:
    with session_scope(engine, readonly=True) as s:
        return s.execute(select(func.count()).select_from(ProcurementRequest)).scalar_one()


def test_list_filters_and_csv(world: dict) -> None:
    at = _open(world["w"].ops)
    assert not at.exception
    table = _table(at)
    assert sorted(table["Ref"]) == sorted([world["small"], world["big"]])
    assert "₹32,000.00" in list(table["Estimated"])
    at.text_input(key="pr_f_search").input("CBL-6")
    at.button(key="pr_f_submit").click().run()
    assert list(_table(at)["Ref"]) == [world["small"]]
    at.selectbox(key="pr_f_status").select("received")
    at.button(key="pr_f_submit").click().run()
    assert any("No procurement request" in i.value for i in at.info)
    assert at.get("download_button")[0].proto.label == "Download requests (CSV)"


def test_big_estimate_needs_a_manager(world: dict) -> None:
    at = _open(world["w"].procurement)
    at.selectbox(key="pr_pick").select(world["big"]).run()
    at.button(key="pr_approve_submit").click().run()
    assert not at.exception
    assert any("a manager must approve" in e.value for e in at.error)
    at = _open(world["manager"])
    at.selectbox(key="pr_pick").select(world["big"]).run()
    at.button(key="pr_approve_submit").click().run()
    assert any("approved" in s.value for s in at.success)


def test_approve_order_receive_adds_stock(world: dict) -> None:
    at = _open(world["w"].procurement)
    at.selectbox(key="pr_pick").select(world["small"]).run()
    at.text_input(key="pr_approve_cost").input("-1")
    at.button(key="pr_approve_submit").click().run()
    assert any("estimated_cost" in e.value for e in at.error)
    at.text_input(key="pr_approve_cost").input("1250")
    at.button(key="pr_approve_submit").click().run()
    assert any("approved" in s.value for s in at.success)
    at.selectbox(key="pr_order_vendor").select("Shree (BLR)")
    at.button(key="pr_order_submit").click().run()
    assert any("ordered" in s.value for s in at.success)
    # receiving without the actual cost is refused, naming the field; nothing moves
    at.button(key="pr_receive_submit").click().run()
    assert any("actual_cost" in e.value for e in at.error)
    with session_scope(world["engine"], readonly=True) as s:
        assert s.execute(select(func.count()).select_from(StockMovement)).scalar_one() == 0
    at.text_input(key="pr_receive_cost").input("1199.50")
    at.button(key="pr_receive_submit").click().run()
    assert not at.exception
    assert any("received: 10 meter added" in s.value for s in at.success)
    with session_scope(world["engine"], readonly=True) as s:
        row = s.execute(
            select(ProcurementRequest).where(ProcurementRequest.id == world["small_id"])
        ).scalar_one()
        assert (row.status, str(row.actual_cost), row.vendor_id) == (
            "received",
            "1199.50",
            world["vendor"],
        )
        assert (
            s.execute(
                select(MaterialStock.quantity_available).where(
                    MaterialStock.material_id == world["cable"]
                )
            ).scalar_one()
            == 10
        )


def test_new_request_refuses_fractional_quantity(world: dict) -> None:
    at = _open(world["w"].procurement)
    before = _count(world["engine"])
    at.selectbox(key="pr_new_inst").select(
        next(o for o in at.selectbox(key="pr_new_inst").options if world["inst_ref"] in o)
    ).run()
    at.selectbox(key="pr_new_mat").select("CBL-6 · Cable 6 sq mm")
    at.text_input(key="pr_new_qty").input("2.5")
    at.button(key="pr_new_submit").click().run()
    assert not at.exception
    assert any("quantity" in e.value and "whole number" in e.value for e in at.error)
    assert _count(world["engine"]) == before
    at.text_input(key="pr_new_qty").input("4")
    at.selectbox(key="pr_new_vendor").select("Shree (BLR)")
    at.button(key="pr_new_submit").click().run()
    assert not at.error
    assert any("raised" in s.value for s in at.success)
    assert _count(world["engine"]) == before + 1


def test_cancel(world: dict) -> None:
    at = _open(world["w"].procurement)
    at.selectbox(key="pr_pick").select(world["small"]).run()
    at.button(key="pr_cancel_submit").click().run()
    assert any("cancelled" in s.value for s in at.success)
    at.selectbox(key="pr_pick").select(world["small"]).run()
    assert not at.button or all(b.key != "pr_cancel_submit" for b in at.button)
