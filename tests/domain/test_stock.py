"""Stock commands and queries (seed 004) on SQLite and PostgreSQL: receipts, count and
reorder-level edits through the ledger, stale-edit refusal, all-or-none page edits, bad input,
the projection (allocated, on order, reorder alert) and the ledger view.

The builders at the top (``ProcWorld``, ``build_proc_world``, ``add_job``) are reused by the
allocation, property and page tests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from db.engine import session_scope
from domain.actor import Actor
from domain.errors import NotFound, PermissionDenied, ValidationError
from domain.installations.models import Installation
from domain.procurement.dto import StockEdit
from domain.procurement.ledger import StaleStock
from domain.procurement.models import (
    ChargerKitLine,
    Material,
    MaterialStock,
    ProcurementRequest,
    StockMovement,
)
from domain.procurement.stock import (
    StaleStockEdits,
    adjust_stock,
    apply_stock_edits,
    receive_stock,
    whole_number,
)
from domain.procurement.stock_queries import (
    ledger_consistent,
    ledger_mismatches,
    stock_by_zone,
    stock_ledger,
    suggested_order_quantity,
)
from domain.surveys.models import SurveyReport, SurveyReportLine
from tests.domain.test_installations import InstWorld, add_installation, build_world

# --- builders ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcWorld:
    """An installation world plus a kit: charger CHG-72 (1), cable (10 m in the kit), an MCB
    and a wall bracket; stock rows per material in the zone as given to the builder."""

    w: InstWorld
    cable_id: uuid.UUID
    mcb_id: uuid.UUID
    bracket_id: uuid.UUID
    stock: dict[str, uuid.UUID]  # sku -> stock row id

    @property
    def zone_id(self) -> uuid.UUID:
        return self.w.zone_id

    @property
    def charger_id(self) -> uuid.UUID:
        return self.w.charger_id

    @property
    def buyer(self) -> Actor:
        return self.w.procurement


def _material(s: Session, sku: str, category: str, unit: str) -> uuid.UUID:
    m = Material(name=sku.title(), sku=sku, category=category, unit=unit)
    s.add(m)
    s.flush()
    return m.id


def build_proc_world(s: Session, stock: dict[str, int] | None = None) -> ProcWorld:
    """``build_world`` + kit materials and opening stock (sku -> quantity, receipts)."""
    w = build_world(s)
    cable = _material(s, "CBL-6MM", "cable", "meter")
    mcb = _material(s, "ELE-MCB-32A", "electrical", "piece")
    bracket = _material(s, "MNT-WALL", "mounting", "piece")
    for material_id, qty in ((cable, 10), (mcb, 1), (bracket, 1)):
        s.add(ChargerKitLine(charger_id=w.charger_id, material_id=material_id, quantity=qty))
    s.flush()
    ids = {"CHG-72": w.charger_id, "CBL-6MM": cable, "ELE-MCB-32A": mcb, "MNT-WALL": bracket}
    opening = {"CHG-72": 5, "CBL-6MM": 100, "ELE-MCB-32A": 10, "MNT-WALL": 10}
    if stock is not None:
        opening = stock
    rows: dict[str, uuid.UUID] = {}
    for sku, qty in opening.items():
        if qty > 0:
            res = receive_stock(
                s,
                w.procurement,
                material_id=ids[sku],
                zone_id=w.zone_id,
                quantity=qty,
                reason="opening stock",
            )
            rows[sku] = res.material_stock_id
        else:
            row = MaterialStock(material_id=ids[sku], zone_id=w.zone_id, quantity_available=0)
            s.add(row)
            s.flush()
            rows[sku] = row.id
    return ProcWorld(w, cable, mcb, bracket, rows)


def add_job(
    s: Session,
    pw: ProcWorld,
    *,
    status: str = "planned",
    survey_lines: dict[uuid.UUID, int] | None = None,
) -> uuid.UUID:
    """An installation in ``status`` (material not ready) whose survey recommends CHG-72 and
    the given extra lines; its id."""
    iid = add_installation(s, pw.w, status=status, material_ready=False)
    if survey_lines:
        inst = s.get(Installation, iid)
        assert inst is not None
        report_id = s.execute(
            select(SurveyReport.id).where(SurveyReport.survey_id == inst.survey_id)
        ).scalar_one()
        for material_id, qty in survey_lines.items():
            s.add(
                SurveyReportLine(survey_report_id=report_id, material_id=material_id, quantity=qty)
            )
        s.flush()
    return iid


def free(engine: Engine, stock_id: uuid.UUID) -> tuple[int, int, int]:
    """(quantity_available, version, number of movements) of a stock row."""
    with session_scope(engine, readonly=True) as s:
        row = s.get(MaterialStock, stock_id)
        assert row is not None
        n = s.execute(
            select(func.count())
            .select_from(StockMovement)
            .where(StockMovement.material_stock_id == stock_id)
        ).scalar_one()
        return row.quantity_available, row.version, n


def assert_ledger(engine: Engine) -> None:
    with session_scope(engine, readonly=True) as s:
        assert ledger_mismatches(s) == []
        assert ledger_consistent(s)


@pytest.fixture
def pw(engine: Engine) -> ProcWorld:
    with session_scope(engine) as s:
        return build_proc_world(s)


# --- pure ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0), (7, 7), (7.0, 7), (Decimal("12"), 12), ("  42 ", 42), ("5.0", 5)],
)
def test_whole_number_accepts(value: object, expected: int) -> None:
    assert whole_number(value, "quantity_available") == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (-1, "0 or more"),
        (1.5, "not a whole number"),
        ("2.5", "not a whole number"),
        ("ten", "not a number"),
        (True, "whole number"),
        (None, "whole number"),
        (float("nan"), "whole number"),
        ([3], "not a number"),
        (10**10, "at most"),
    ],
)
def test_whole_number_refuses_with_field(value: object, reason: str) -> None:
    with pytest.raises(ValidationError) as err:
        whole_number(value, "quantity_available")
    assert list(err.value.errors) == ["quantity_available"]
    assert reason in err.value.errors["quantity_available"]


def test_suggested_order_quantity_rule() -> None:
    assert suggested_order_quantity(6, 5) == 0
    assert suggested_order_quantity(5, 5) == 5
    assert suggested_order_quantity(0, 5) == 10
    assert suggested_order_quantity(-3, 5) == 13
    assert suggested_order_quantity(0, 0) == 1


# --- receipts and adjustments -------------------------------------------------------------------


def test_receive_creates_row_and_ledger(engine: Engine, pw: ProcWorld) -> None:
    assert free(engine, pw.stock["CBL-6MM"]) == (100, 2, 1)
    with session_scope(engine) as s:
        res = receive_stock(
            s,
            pw.buyer,
            material_id=pw.cable_id,
            zone_id=pw.zone_id,
            quantity="25",
            reason="truck 2",
        )
    assert res.quantity_available == 125
    assert free(engine, pw.stock["CBL-6MM"]) == (125, 3, 2)
    assert_ledger(engine)


@pytest.mark.parametrize("qty", [0, -5, 2.5, "x"])
def test_receive_refuses_bad_quantity(engine: Engine, pw: ProcWorld, qty: object) -> None:
    with pytest.raises(ValidationError) as err, session_scope(engine) as s:
        receive_stock(
            s, pw.buyer, material_id=pw.cable_id, zone_id=pw.zone_id, quantity=qty, reason=None
        )
    assert "quantity" in err.value.errors
    assert free(engine, pw.stock["CBL-6MM"]) == (100, 2, 1)


def test_receive_unknown_material_or_zone(engine: Engine, pw: ProcWorld) -> None:
    with pytest.raises(NotFound), session_scope(engine) as s:
        receive_stock(
            s, pw.buyer, material_id=uuid.uuid4(), zone_id=pw.zone_id, quantity=1, reason=None
        )
    with pytest.raises(NotFound), session_scope(engine) as s:
        receive_stock(
            s, pw.buyer, material_id=pw.cable_id, zone_id=uuid.uuid4(), quantity=1, reason=None
        )


def test_adjust_count_and_reorder_level(engine: Engine, pw: ProcWorld) -> None:
    sid = pw.stock["CBL-6MM"]
    with session_scope(engine) as s:
        row = adjust_stock(
            s,
            pw.buyer,
            stock_id=sid,
            expected_version=2,
            quantity_available=93,
            reorder_level=20,
            reason="cycle count",
        )
    assert (row.quantity_available, row.reorder_level, row.version) == (93, 20, 4)
    with session_scope(engine, readonly=True) as s:
        mv = s.execute(
            select(StockMovement.kind, StockMovement.quantity_delta, StockMovement.reason)
            .where(StockMovement.material_stock_id == sid)
            .order_by(StockMovement.created_at.desc())
            .limit(1)
        ).one()
    assert tuple(mv) == ("adjustment", -7, "cycle count")
    assert_ledger(engine)
    # Only the reorder level: no movement, version bumped.
    with session_scope(engine) as s:
        row = adjust_stock(
            s, pw.buyer, stock_id=sid, expected_version=4, reorder_level=0, reason="not stocked"
        )
    assert free(engine, sid) == (93, 5, 2)
    assert row.reorder_level == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"quantity_available": -1}, "quantity_available"),
        ({"quantity_available": 2.5}, "quantity_available"),
        ({"quantity_available": "lots"}, "quantity_available"),
        ({"reorder_level": -3}, "reorder_level"),
        ({"reorder_level": 1.25}, "reorder_level"),
        ({"quantity_available": 5, "reason": "  "}, "reason"),
    ],
)
def test_adjust_refuses_bad_input_nothing_written(
    engine: Engine, pw: ProcWorld, kwargs: dict, field: str
) -> None:
    sid = pw.stock["CBL-6MM"]
    args = {"reason": "count"} | kwargs
    with pytest.raises(ValidationError) as err, session_scope(engine) as s:
        adjust_stock(s, pw.buyer, stock_id=sid, expected_version=2, **args)
    assert field in err.value.errors
    assert free(engine, sid) == (100, 2, 1)


def test_adjust_on_stale_version_is_refused(engine: Engine, pw: ProcWorld) -> None:
    sid = pw.stock["CBL-6MM"]
    with session_scope(engine) as s:  # someone else counts first
        adjust_stock(
            s, pw.buyer, stock_id=sid, expected_version=2, quantity_available=90, reason="a"
        )
    with pytest.raises(StaleStock) as err, session_scope(engine) as s:
        adjust_stock(
            s,
            pw.buyer,
            stock_id=sid,
            expected_version=2,
            quantity_available=80,
            reorder_level=50,
            reason="b",
        )
    assert err.value.quantity_available == 90
    assert "reload" in str(err.value)
    assert free(engine, sid) == (90, 3, 2)


def test_adjust_needs_permission(engine: Engine, pw: ProcWorld) -> None:
    with pytest.raises(PermissionDenied), session_scope(engine) as s:
        adjust_stock(
            s,
            pw.w.fe1,
            stock_id=pw.stock["CBL-6MM"],
            expected_version=2,
            quantity_available=1,
            reason="x",
        )


# --- page batch edits ---------------------------------------------------------------------------


def test_batch_edits_apply_all(engine: Engine, pw: ProcWorld) -> None:
    edits = [
        StockEdit(pw.stock["CBL-6MM"], 2, quantity_available=101.0, reorder_level=30),
        StockEdit(pw.stock["ELE-MCB-32A"], 2, quantity_available=4),
        StockEdit(pw.stock["MNT-WALL"], 2, quantity_available=10, reorder_level=5),  # no-op
    ]
    with session_scope(engine) as s:
        changed = apply_stock_edits(s, pw.buyer, edits=edits, reason="monthly count")
    assert sorted(r.sku for r in changed) == ["CBL-6MM", "ELE-MCB-32A"]
    assert free(engine, pw.stock["CBL-6MM"]) == (101, 4, 2)
    assert free(engine, pw.stock["ELE-MCB-32A"]) == (4, 3, 2)
    assert free(engine, pw.stock["MNT-WALL"]) == (10, 2, 1)
    assert_ledger(engine)


def test_batch_edits_bad_value_writes_nothing(engine: Engine, pw: ProcWorld) -> None:
    edits = [
        StockEdit(pw.stock["CBL-6MM"], 2, quantity_available=50),
        StockEdit(pw.stock["ELE-MCB-32A"], 2, quantity_available=-2, reorder_level=0.5),
    ]
    with pytest.raises(ValidationError) as err, session_scope(engine) as s:
        apply_stock_edits(s, pw.buyer, edits=edits, reason="count")
    assert set(err.value.errors) == {
        "ELE-MCB-32A quantity_available",
        "ELE-MCB-32A reorder_level",
    }
    assert free(engine, pw.stock["CBL-6MM"]) == (100, 2, 1)


def test_batch_edits_stale_row_named_nothing_written(engine: Engine, pw: ProcWorld) -> None:
    with session_scope(engine) as s:  # the MCB row changes after the page loaded it
        receive_stock(
            s, pw.buyer, material_id=pw.mcb_id, zone_id=pw.zone_id, quantity=1, reason=None
        )
    edits = [
        StockEdit(pw.stock["CBL-6MM"], 2, quantity_available=50),
        StockEdit(pw.stock["ELE-MCB-32A"], 2, quantity_available=3),
    ]
    with pytest.raises(StaleStockEdits) as err, session_scope(engine) as s:
        apply_stock_edits(s, pw.buyer, edits=edits, reason="count")
    assert err.value.rows == ["ELE-MCB-32A"]
    assert "ELE-MCB-32A" in str(err.value) and "Nothing was saved" in str(err.value)
    assert free(engine, pw.stock["CBL-6MM"]) == (100, 2, 1)
    assert free(engine, pw.stock["ELE-MCB-32A"]) == (11, 3, 2)


# --- queries ------------------------------------------------------------------------------------


def test_stock_by_zone_projection(engine: Engine, pw: ProcWorld) -> None:
    from domain.procurement.allocations import allocate

    with session_scope(engine) as s:
        iid = add_installation(s, pw.w, material_ready=False)
        allocate(s, pw.buyer, installation_id=iid, material_id=pw.charger_id, quantity=3)
        adjust_stock(
            s,
            pw.buyer,
            stock_id=pw.stock["CHG-72"],
            expected_version=3,
            reorder_level=4,
            reason="chargers are slow to get",
        )
        for status, qty in (("approved", 2), ("ordered", 1), ("requested", 50), ("received", 9)):
            s.add(
                ProcurementRequest(
                    ref=f"PR-2026-{uuid.uuid4().hex[:5]}",
                    installation_id=iid,
                    material_id=pw.charger_id,
                    zone_id=pw.zone_id,
                    quantity=qty,
                    status=status,
                    requested_by_id=pw.buyer.user_id,
                )
            )
    with session_scope(engine, readonly=True) as s:
        rows = {r.sku: r for r in stock_by_zone(s, pw.buyer, zone_id=pw.zone_id)}
        assert [r.sku for r in stock_by_zone(s, pw.buyer, zone_id=pw.zone_id, search="mnt-")] == [
            "MNT-WALL"
        ]
        below = stock_by_zone(s, pw.buyer, zone_id=pw.zone_id, below_reorder_only=True)
    chg = rows["CHG-72"]
    # free 2, allocated 3 (on hand 5), on order 3 -> projected 5 > 4: no alert
    assert (chg.quantity_available, chg.allocated_not_dispatched, chg.on_hand) == (2, 3, 5)
    assert (chg.on_order, chg.projected, chg.below_reorder, chg.suggested_order) == (
        3,
        5,
        False,
        0,
    )
    assert [r.sku for r in below] == []
    with session_scope(engine) as s:
        adjust_stock(
            s,
            pw.buyer,
            stock_id=pw.stock["CHG-72"],
            expected_version=chg.version,
            reorder_level=5,
            reason="raise",
        )
    with session_scope(engine, readonly=True) as s:
        below = stock_by_zone(s, pw.buyer, zone_id=pw.zone_id, below_reorder_only=True)
    assert [(r.sku, r.projected, r.suggested_order) for r in below] == [("CHG-72", 5, 5)]


def test_stock_ledger_running_balance(engine: Engine, pw: ProcWorld) -> None:
    sid = pw.stock["CBL-6MM"]
    with session_scope(engine) as s:
        adjust_stock(
            s, pw.buyer, stock_id=sid, expected_version=2, quantity_available=95, reason="cut"
        )
        receive_stock(
            s, pw.buyer, material_id=pw.cable_id, zone_id=pw.zone_id, quantity=5, reason="more"
        )
    with session_scope(engine, readonly=True) as s:
        ledger = stock_ledger(s, pw.buyer, stock_id=sid)
    assert [(m.kind, m.quantity_delta, m.balance) for m in ledger] == [
        ("receipt", 5, 100),
        ("adjustment", -5, 95),
        ("receipt", 100, 100),
    ]
    assert ledger[0].actor_username == "buyer"


def test_ledger_mismatch_is_detected(engine: Engine, pw: ProcWorld) -> None:
    with session_scope(engine) as s:  # a write that bypasses the ledger
        row = s.get(MaterialStock, pw.stock["MNT-WALL"])
        assert row is not None
        row.quantity_available = 11
    with session_scope(engine, readonly=True) as s:
        assert ledger_mismatches(s) == [(pw.stock["MNT-WALL"], 11, 10)]
        assert not ledger_consistent(s)
