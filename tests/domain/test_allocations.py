"""Allocations (seed 004) on SQLite and PostgreSQL: bill of materials, all-or-nothing lines
with shortfalls, the allocated -> dispatched -> delivered -> returned lifecycle, restock
exactly once, and the installation moving to material_pending / material_ready and back."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine, func, select

from db.engine import session_scope
from domain.errors import NotFound, PermissionDenied, TransitionError, ValidationError
from domain.installations.models import Installation, InstallationStatusChange
from domain.procurement.allocations import (
    allocate,
    allocate_installation,
    bill_of_materials,
    deliver,
    dispatch,
    return_allocation,
)
from domain.procurement.ledger import InsufficientStock
from domain.procurement.models import MaterialAllocation, StockMovement
from domain.procurement.stock import receive_stock
from domain.procurement.stock_queries import list_allocations
from tests.domain.test_stock import ProcWorld, add_job, assert_ledger, build_proc_world, free


@pytest.fixture
def pw(engine: Engine) -> ProcWorld:
    with session_scope(engine) as s:
        return build_proc_world(s)


def inst_state(engine: Engine, iid: uuid.UUID) -> tuple[str, bool]:
    with session_scope(engine, readonly=True) as s:
        inst = s.get(Installation, iid)
        assert inst is not None
        return inst.status, inst.material_ready


def changes(engine: Engine, iid: uuid.UUID) -> list[tuple[str | None, str, uuid.UUID | None]]:
    with session_scope(engine, readonly=True) as s:
        rows = s.execute(
            select(
                InstallationStatusChange.from_status,
                InstallationStatusChange.to_status,
                InstallationStatusChange.changed_by_id,
            )
            .where(InstallationStatusChange.installation_id == iid)
            .order_by(InstallationStatusChange.created_at)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_bill_of_materials_merges_kit_and_survey_by_max(engine: Engine, pw: ProcWorld) -> None:
    with session_scope(engine) as s:
        # survey: 15 m of cable (kit says 10) and 1 bracket (kit says 1)
        iid = add_job(s, pw, survey_lines={pw.cable_id: 15, pw.bracket_id: 1})
    with session_scope(engine, readonly=True) as s:
        bom = bill_of_materials(s, iid, actor=pw.buyer)
    got = {
        (line.sku, line.required, line.allocated, line.free, line.shortfall) for line in bom.lines
    }
    assert got == {
        ("CHG-72", 1, 0, 5, 0),
        ("CBL-6MM", 15, 0, 100, 0),
        ("ELE-MCB-32A", 1, 0, 10, 0),
        ("MNT-WALL", 1, 0, 10, 0),
    }
    assert bom.zone_id == pw.zone_id and bom.charger_id == pw.charger_id
    assert not bom.fully_allocated


def test_allocate_installation_all_lines_and_planned_to_pending(
    engine: Engine, pw: ProcWorld
) -> None:
    with session_scope(engine) as s:
        iid = add_job(s, pw, survey_lines={pw.cable_id: 15})
    with session_scope(engine) as s:
        run = allocate_installation(s, pw.buyer, installation_id=iid)
    assert run.shortfall == {}
    assert sorted((o.sku, o.allocated) for o in run.outcomes) == [
        ("CBL-6MM", 15),
        ("CHG-72", 1),
        ("ELE-MCB-32A", 1),
        ("MNT-WALL", 1),
    ]
    assert free(engine, pw.stock["CBL-6MM"])[0] == 85
    assert free(engine, pw.stock["CHG-72"])[0] == 4
    assert inst_state(engine, iid) == ("material_pending", False)
    assert changes(engine, iid)[-1] == ("planned", "material_pending", pw.buyer.user_id)
    assert_ledger(engine)
    # Running it again allocates nothing more.
    with session_scope(engine) as s:
        again = allocate_installation(s, pw.buyer, installation_id=iid)
        assert again.outcomes == ()
        assert bill_of_materials(s, iid).fully_allocated
    assert free(engine, pw.stock["CBL-6MM"])[0] == 85


def test_shortfall_line_is_not_partially_allocated(engine: Engine) -> None:
    with session_scope(engine) as s:
        pw = build_proc_world(s, {"CHG-72": 0, "CBL-6MM": 12, "ELE-MCB-32A": 10, "MNT-WALL": 10})
        iid = add_job(s, pw, survey_lines={pw.cable_id: 15})
    with session_scope(engine) as s:
        run = allocate_installation(s, pw.buyer, installation_id=iid)
    assert run.shortfall == {"CBL-6MM": 3, "CHG-72": 1}
    assert free(engine, pw.stock["CBL-6MM"]) == (12, 2, 1)  # untouched
    assert free(engine, pw.stock["ELE-MCB-32A"])[0] == 9
    with session_scope(engine, readonly=True) as s:
        bom = {line.sku: line for line in bill_of_materials(s, iid).lines}
    assert (bom["CBL-6MM"].missing, bom["CBL-6MM"].free, bom["CBL-6MM"].shortfall) == (15, 12, 3)
    assert bom["CHG-72"].shortfall == 1 and bom["MNT-WALL"].missing == 0
    # after receipts the rest is allocated
    with session_scope(engine) as s:
        receive_stock(
            s, pw.buyer, material_id=pw.cable_id, zone_id=pw.zone_id, quantity=3, reason=None
        )
        receive_stock(
            s, pw.buyer, material_id=pw.charger_id, zone_id=pw.zone_id, quantity=1, reason=None
        )
    with session_scope(engine) as s:
        run = allocate_installation(s, pw.buyer, installation_id=iid)
        assert run.shortfall == {}
        assert bill_of_materials(s, iid).fully_allocated
    assert free(engine, pw.stock["CBL-6MM"])[0] == 0
    assert_ledger(engine)


def test_allocate_one_line_insufficient_writes_nothing(engine: Engine, pw: ProcWorld) -> None:
    with session_scope(engine) as s:
        iid = add_job(s, pw)
    with pytest.raises(InsufficientStock) as err, session_scope(engine) as s:
        allocate(s, pw.buyer, installation_id=iid, material_id=pw.charger_id, quantity=6)
    assert (err.value.requested, err.value.available) == (6, 5)
    assert "quantity" in err.value.errors
    assert free(engine, pw.stock["CHG-72"]) == (5, 2, 1)
    assert inst_state(engine, iid) == ("planned", False)
    with session_scope(engine, readonly=True) as s:
        assert s.execute(select(func.count()).select_from(MaterialAllocation)).scalar_one() == 0


@pytest.mark.parametrize("qty", [0, -1, 1.5, "two"])
def test_allocate_bad_quantity(engine: Engine, pw: ProcWorld, qty: object) -> None:
    with session_scope(engine) as s:
        iid = add_job(s, pw)
    with pytest.raises(ValidationError) as err, session_scope(engine) as s:
        allocate(s, pw.buyer, installation_id=iid, material_id=pw.charger_id, quantity=qty)
    assert "quantity" in err.value.errors


@pytest.mark.parametrize("status", ["cancelled", "closed"])
def test_allocation_refuses_cancelled_or_closed(engine: Engine, pw: ProcWorld, status: str) -> None:
    with session_scope(engine) as s:
        iid = add_job(s, pw, status=status)
    with pytest.raises(TransitionError, match=status), session_scope(engine) as s:
        allocate(s, pw.buyer, installation_id=iid, material_id=pw.charger_id, quantity=1)
    with pytest.raises(TransitionError), session_scope(engine) as s:
        allocate_installation(s, pw.buyer, installation_id=iid)
    assert free(engine, pw.stock["CHG-72"]) == (5, 2, 1)


def test_allocation_permissions_and_not_found(engine: Engine, pw: ProcWorld) -> None:
    with session_scope(engine) as s:
        iid = add_job(s, pw)
    with pytest.raises(PermissionDenied), session_scope(engine) as s:
        allocate_installation(s, pw.w.fe1, installation_id=iid)
    with pytest.raises(PermissionDenied), session_scope(engine) as s:
        allocate(s, pw.w.ops, installation_id=iid, material_id=pw.charger_id, quantity=1)
    with pytest.raises(NotFound), session_scope(engine) as s:
        allocate(s, pw.buyer, installation_id=uuid.uuid4(), material_id=pw.charger_id, quantity=1)
    with pytest.raises(NotFound), session_scope(engine) as s:
        allocate(s, pw.buyer, installation_id=iid, material_id=uuid.uuid4(), quantity=1)


def _allocate_all(engine: Engine, pw: ProcWorld, iid: uuid.UUID) -> list[uuid.UUID]:
    with session_scope(engine) as s:
        allocate_installation(s, pw.buyer, installation_id=iid)
        return [a.id for a in list_allocations(s, pw.buyer, installation_id=iid)]


def test_dispatch_deliver_to_material_ready_then_return(engine: Engine, pw: ProcWorld) -> None:
    with session_scope(engine) as s:
        iid = add_job(s, pw)
    ids = _allocate_all(engine, pw, iid)
    assert len(ids) == 4
    charger_before = free(engine, pw.stock["CHG-72"])
    for n, aid in enumerate(ids):
        with session_scope(engine) as s:
            dto = dispatch(s, pw.buyer, allocation_id=aid)
            assert dto.status == "dispatched" and dto.dispatched_at is not None
        with session_scope(engine) as s:
            dto = deliver(s, pw.w.fe1, allocation_id=aid)
            assert dto.status == "delivered"
        # ready only after the last line
        assert inst_state(engine, iid) == (
            ("material_ready", True) if n == len(ids) - 1 else ("material_pending", False)
        )
    qty, _, moves = free(engine, pw.stock["CHG-72"])
    assert (qty, moves) == (charger_before[0], charger_before[2] + 1)  # dispatch: 0 movement
    assert changes(engine, iid)[-1] == ("material_pending", "material_ready", pw.w.fe1.user_id)
    # dispatch/deliver are one-way
    with pytest.raises(TransitionError, match="delivered"), session_scope(engine) as s:
        dispatch(s, pw.buyer, allocation_id=ids[0])
    # a return before the job: restock once, back to material_pending
    with session_scope(engine, readonly=True) as s:
        charger_alloc = next(
            a for a in list_allocations(s, pw.buyer, installation_id=iid) if a.sku == "CHG-72"
        )
    with session_scope(engine) as s:
        dto = return_allocation(s, pw.buyer, allocation_id=charger_alloc.id, reason="wrong model")
        assert dto.status == "returned"
    assert free(engine, pw.stock["CHG-72"])[0] == 5
    assert inst_state(engine, iid) == ("material_pending", False)
    assert changes(engine, iid)[-1] == ("material_ready", "material_pending", pw.buyer.user_id)
    with pytest.raises(TransitionError, match="returned"), session_scope(engine) as s:
        return_allocation(s, pw.buyer, allocation_id=charger_alloc.id)
    assert free(engine, pw.stock["CHG-72"])[0] == 5
    with session_scope(engine, readonly=True) as s:
        returns = s.execute(
            select(func.count())
            .select_from(StockMovement)
            .where(StockMovement.allocation_id == charger_alloc.id, StockMovement.kind == "return")
        ).scalar_one()
    assert returns == 1
    assert_ledger(engine)


def test_return_from_confirmed_goes_back_to_pending(engine: Engine, pw: ProcWorld) -> None:
    with session_scope(engine) as s:
        iid = add_job(s, pw)
    ids = _allocate_all(engine, pw, iid)
    for aid in ids:
        with session_scope(engine) as s:
            dispatch(s, pw.buyer, allocation_id=aid)
            deliver(s, pw.buyer, allocation_id=aid)
    with session_scope(engine) as s:
        inst = s.get(Installation, iid)
        assert inst is not None and inst.status == "material_ready"
        inst.status = "confirmed"
    with session_scope(engine) as s:
        return_allocation(s, pw.buyer, allocation_id=ids[0])
    assert inst_state(engine, iid) == ("material_pending", False)
    assert changes(engine, iid)[-1][:2] == ("confirmed", "material_pending")


def test_return_refused_once_job_started(engine: Engine, pw: ProcWorld) -> None:
    with session_scope(engine) as s:
        iid = add_job(s, pw)
    ids = _allocate_all(engine, pw, iid)
    with session_scope(engine) as s:
        inst = s.get(Installation, iid)
        assert inst is not None
        inst.status = "in_progress"
    with pytest.raises(TransitionError, match="in_progress"), session_scope(engine) as s:
        return_allocation(s, pw.buyer, allocation_id=ids[0])
    assert free(engine, pw.stock["CHG-72"])[0] == 4


def test_return_of_allocated_restocks_and_deliver_needs_dispatch(
    engine: Engine, pw: ProcWorld
) -> None:
    with session_scope(engine) as s:
        iid = add_job(s, pw)
        a = allocate(s, pw.buyer, installation_id=iid, material_id=pw.cable_id, quantity=7)
    assert free(engine, pw.stock["CBL-6MM"])[0] == 93
    with pytest.raises(TransitionError, match="allocated"), session_scope(engine) as s:
        deliver(s, pw.buyer, allocation_id=a.id)
    with pytest.raises(PermissionDenied), session_scope(engine) as s:
        return_allocation(s, pw.w.fe1, allocation_id=a.id)
    with session_scope(engine) as s:
        return_allocation(s, pw.buyer, allocation_id=a.id)
    assert free(engine, pw.stock["CBL-6MM"])[0] == 100
    with pytest.raises(TransitionError), session_scope(engine) as s:
        dispatch(s, pw.buyer, allocation_id=a.id)
    with pytest.raises(NotFound), session_scope(engine) as s:
        dispatch(s, pw.buyer, allocation_id=uuid.uuid4())
    assert_ledger(engine)
