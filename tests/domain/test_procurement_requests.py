"""Procurement requests (issue 4 item 4): lifecycle, approval limit, receipt through the ledger
exactly once (also under concurrency), shortfall requests; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from db.engine import session_scope
from domain.accounts.models import AuditEvent, RefCounter
from domain.errors import DomainError, PermissionDenied, TransitionError, ValidationError
from domain.procurement import queries
from domain.procurement.catalogue import create_material, set_kit_lines
from domain.procurement.ledger import apply_movement, ensure_stock_row
from domain.procurement.models import MaterialStock, ProcurementRequest, StockMovement
from domain.procurement.requests import (
    approve_request,
    cancel_request,
    create_request,
    order_request,
    raise_requests_for_shortfall,
    receive_request,
)
from domain.procurement.vendors import create_vendor
from tests.domain.test_installations import InstWorld, add_installation, build_world
from tests.factories import actor_of, make_user, make_zone


def add_stock(s: Session, material_id: uuid.UUID, zone_id: uuid.UUID, qty: int) -> uuid.UUID:
    """A stock row with ``qty`` received (one receipt movement); its id."""
    stock_id = ensure_stock_row(s, material_id=material_id, zone_id=zone_id)
    if qty:
        apply_movement(
            s, material_stock_id=stock_id, kind="receipt", quantity_delta=qty, actor_id=None
        )
    return stock_id


def procurement_world(s: Session) -> dict:
    """``build_world`` plus a cable kit line (15 m) on its charger, a manager, a vendor per
    zone and a second zone."""
    w: InstWorld = build_world(s)
    cable = create_material(
        s,
        w.admin,
        sku="CBL-6",
        name="Cable 6 sq mm",
        category="cable",
        unit="meter",
        unit_cost="120",
    )
    set_kit_lines(s, w.admin, charger_id=w.charger_id, lines=[("CBL-6", 15)])
    other = make_zone(s, code="MUM", name="Mumbai", state="MAHARASHTRA", districts=("MUMBAI",))
    vendor = create_vendor(
        s, w.admin, name="Shree", phone="9845012345", zone_id=w.zone_id, upi_id="shree@okaxis"
    )
    far = create_vendor(
        s, w.admin, name="Far", phone="9820012345", zone_id=other.id, upi_id="far@okaxis"
    )
    return {
        "w": w,
        "cable": cable.id,
        "manager": actor_of(make_user(s, "manager", "boss-man")),
        "vendor": vendor.id,
        "far_vendor": far.id,
        "other_zone": other.id,
        "inst": add_installation(s, w, status="planned", material_ready=False),
    }


@pytest.fixture
def world(engine: Engine) -> dict:
    with session_scope(engine) as s:
        pw = procurement_world(s)
    pw["engine"] = engine
    return pw


def _counts(engine: Engine) -> tuple[int, ...]:
    with session_scope(engine, readonly=True) as s:
        return tuple(
            s.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (ProcurementRequest, AuditEvent, RefCounter, StockMovement)
        )


def _new(world: dict, **kw) -> uuid.UUID:  # type: ignore[no-untyped-def]
    args = {
        "installation_id": world["inst"],
        "material_id": world["cable"],
        "quantity": 10,
        **kw,
    }
    with session_scope(world["engine"]) as s:
        return create_request(s, world["w"].procurement, **args).id


def test_create_takes_zone_from_installation_and_a_pr_ref(world: dict) -> None:
    w = world["w"]
    with session_scope(world["engine"]) as s:
        r = create_request(
            s,
            w.ops,
            installation_id=world["inst"],
            material_id=world["cable"],
            quantity="12",
            vendor_id=world["vendor"],
            estimated_cost="1440",
        )
        assert r.ref.startswith("PR-") and r.ref.endswith("-00001")
        assert (r.zone_id, r.quantity, r.status, r.estimated_cost, r.requested_by_id) == (
            w.zone_id,
            12,
            "requested",
            Decimal("1440.00"),
            w.ops.user_id,
        )
        row = queries.get_request(s, w.ops, r.id)
        assert (row.sku, row.zone_code, row.vendor_name, row.requested_by) == (
            "CBL-6",
            "BLR",
            "Shree",
            "planner",
        )
        assert (
            s.execute(
                select(AuditEvent.entity_id).where(
                    AuditEvent.action == "procurement_request.create"
                )
            ).scalar_one()
            == r.ref
        )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"quantity": -3}, "quantity"),
        ({"quantity": 2.5}, "quantity"),
        ({"quantity": "1.5"}, "quantity"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": "ten"}, "quantity"),
        ({"material_id": uuid.uuid4()}, "material_id"),
        ({"vendor_id": uuid.uuid4()}, "vendor_id"),
        ({"estimated_cost": "-5"}, "estimated_cost"),
    ],
)
def test_bad_request_input_refused_and_nothing_written(
    world: dict, kwargs: dict, field: str
) -> None:
    before = _counts(world["engine"])
    with pytest.raises(ValidationError) as err:
        _new(world, **kwargs)
    assert field in err.value.errors
    assert field in str(err.value)
    assert _counts(world["engine"]) == before


def test_vendor_must_be_of_the_zone(world: dict) -> None:
    with pytest.raises(ValidationError) as err:
        _new(world, vendor_id=world["far_vendor"])
    assert "zone" in err.value.errors["vendor_id"]


def test_full_lifecycle_receipt_adds_stock_once(world: dict) -> None:
    w = world["w"]
    rid = _new(world)
    with session_scope(world["engine"]) as s:
        r = approve_request(s, w.procurement, request_id=rid, estimated_cost="1300")
        assert (r.status, r.estimated_cost, r.approved_by_id) == (
            "approved",
            Decimal("1300.00"),
            w.procurement.user_id,
        )
    with pytest.raises(TransitionError) as terr, session_scope(world["engine"]) as s:
        receive_request(s, w.procurement, request_id=rid, actual_cost="1")
    assert "approved" in str(terr.value)
    with session_scope(world["engine"]) as s:
        r = order_request(s, w.procurement, request_id=rid, vendor_id=world["vendor"])
        assert (r.status, r.vendor_id, r.estimated_cost) == (
            "ordered",
            world["vendor"],
            Decimal("1300.00"),
        )
    with pytest.raises(ValidationError) as verr, session_scope(world["engine"]) as s:
        receive_request(s, w.procurement, request_id=rid, actual_cost=None)
    assert "actual_cost" in verr.value.errors
    with session_scope(world["engine"]) as s:
        r = receive_request(s, w.procurement, request_id=rid, actual_cost="1275.50")
        assert (r.status, r.actual_cost) == ("received", Decimal("1275.50"))
    with pytest.raises(TransitionError) as terr, session_scope(world["engine"]) as s:
        receive_request(s, w.procurement, request_id=rid, actual_cost="1")
    assert "received" in str(terr.value)
    with session_scope(world["engine"], readonly=True) as s:
        stock = s.execute(
            select(MaterialStock).where(
                MaterialStock.material_id == world["cable"], MaterialStock.zone_id == w.zone_id
            )
        ).scalar_one()
        assert stock.quantity_available == 10
        moves = s.execute(select(StockMovement)).scalars().all()
        assert [(m.kind, m.quantity_delta, m.procurement_request_id) for m in moves] == [
            ("receipt", 10, rid)
        ]
        actions = (
            s.execute(
                select(AuditEvent.action).where(AuditEvent.entity_type == "procurement_request")
            )
            .scalars()
            .all()
        )
        assert sorted(actions) == sorted(
            [
                "procurement_request.create",
                "procurement_request.approve",
                "procurement_request.order",
                "procurement_request.receive",
            ]
        )


def test_approval_above_limit_needs_a_manager(world: dict) -> None:
    w = world["w"]
    rid = _new(world, estimated_cost="10000.01")
    before = _counts(world["engine"])
    with pytest.raises(PermissionDenied) as err, session_scope(world["engine"]) as s:
        approve_request(s, w.procurement, request_id=rid)
    assert "a manager must approve" in str(err.value)
    assert "₹10,000.00" in str(err.value)
    assert _counts(world["engine"]) == before
    # exactly at the limit is fine for procurement
    at_limit = _new(world, estimated_cost="10000")
    with session_scope(world["engine"]) as s:
        assert approve_request(s, w.procurement, request_id=at_limit).status == "approved"
        r = approve_request(s, world["manager"], request_id=rid)
        assert (r.status, r.approved_by_id) == ("approved", world["manager"].user_id)
        # the manager may approve but not order
        with pytest.raises(PermissionDenied):
            order_request(s, world["manager"], request_id=rid)


def test_raising_the_estimate_above_the_limit_at_order_needs_a_manager(world: dict) -> None:
    w = world["w"]
    rid = _new(world, estimated_cost="900")
    with session_scope(world["engine"]) as s:
        approve_request(s, w.procurement, request_id=rid)
    with pytest.raises(PermissionDenied), session_scope(world["engine"]) as s:
        order_request(s, w.procurement, request_id=rid, estimated_cost="25000")
    with session_scope(world["engine"]) as s:
        r = order_request(s, w.procurement, request_id=rid, estimated_cost="950")
        assert r.estimated_cost == Decimal("950.00")
        # an admin may order above the limit (it may approve above it)
    rid2 = _new(world, estimated_cost="900")
    with session_scope(world["engine"]) as s:
        approve_request(s, w.procurement, request_id=rid2)
        assert (
            order_request(s, w.admin, request_id=rid2, estimated_cost="25000").status == "ordered"
        )


def test_approval_needs_an_estimate_and_the_right_state(world: dict) -> None:
    w = world["w"]
    rid = _new(world)
    with pytest.raises(ValidationError) as err, session_scope(world["engine"]) as s:
        approve_request(s, w.procurement, request_id=rid)
    assert "estimated_cost" in err.value.errors
    with session_scope(world["engine"]) as s:
        approve_request(s, w.procurement, request_id=rid, estimated_cost=500)
    with pytest.raises(TransitionError) as terr, session_scope(world["engine"]) as s:
        approve_request(s, w.procurement, request_id=rid, estimated_cost=500)
    assert "is approved" in str(terr.value)


@pytest.mark.parametrize("steps", [0, 1, 2])
def test_cancel_from_open_states_only(world: dict, steps: int) -> None:
    w = world["w"]
    rid = _new(world, estimated_cost="100")
    with session_scope(world["engine"]) as s:
        if steps >= 1:
            approve_request(s, w.procurement, request_id=rid)
        if steps >= 2:
            order_request(s, w.procurement, request_id=rid)
        r = cancel_request(s, w.procurement, request_id=rid, reason="customer postponed")
        assert r.status == "cancelled"
    with pytest.raises(TransitionError) as err, session_scope(world["engine"]) as s:
        cancel_request(s, w.procurement, request_id=rid)
    assert "cancelled" in str(err.value)
    with pytest.raises(TransitionError), session_scope(world["engine"]) as s:
        order_request(s, w.procurement, request_id=rid)


def test_list_requests_filters(world: dict) -> None:
    w = world["w"]
    a = _new(world, estimated_cost="100")
    _new(world)
    with session_scope(world["engine"]) as s:
        approve_request(s, w.procurement, request_id=a)
        page = queries.list_requests(s, w.ops, status="approved")
        assert [r.id for r in page.rows] == [a] and page.total == 1
        assert queries.list_requests(s, w.ops, zone_id=world["other_zone"]).total == 0
        assert queries.list_requests(s, w.ops, zone_id=w.zone_id).total == 2
        rows = queries.requests_export_rows(s, w.ops, status="requested")
        assert len(rows) == 1 and "id" not in rows[0] and rows[0]["sku"] == "CBL-6"
        with pytest.raises(ValidationError):
            queries.list_requests(s, w.ops, status="lost")
        with pytest.raises(PermissionDenied):
            queries.list_requests(s, w.tata_viewer)


def test_shortfall_requests_exactly_the_missing_quantity_and_are_idempotent(world: dict) -> None:
    w = world["w"]
    with session_scope(world["engine"]) as s:
        add_stock(s, world["cable"], w.zone_id, 6)  # kit needs 15 m, 6 free -> 9 short
        add_stock(s, w.charger_id, w.zone_id, 0)  # charger: 1 short
    with session_scope(world["engine"]) as s:
        made = raise_requests_for_shortfall(s, w.procurement, installation_id=world["inst"])
        got = {(r.material_id, r.quantity, r.estimated_cost) for r in made}
        assert got == {
            (world["cable"], 9, Decimal("1080.00")),
            (w.charger_id, 1, None),
        }
    with session_scope(world["engine"]) as s:  # a second click raises nothing
        assert raise_requests_for_shortfall(s, w.procurement, installation_id=world["inst"]) == []
        cable_req = next(r.id for r in made if r.material_id == world["cable"])
        cancel_request(s, w.procurement, request_id=cable_req)
    with session_scope(world["engine"]) as s:  # the cancelled quantity is raised again
        again = raise_requests_for_shortfall(s, w.procurement, installation_id=world["inst"])
        assert [(r.material_id, r.quantity) for r in again] == [(world["cable"], 9)]
        assert queries.list_requests(s, w.ops, installation_id=world["inst"]).total == 3


def test_shortfall_permission(world: dict) -> None:
    with pytest.raises(PermissionDenied), session_scope(world["engine"]) as s:
        raise_requests_for_shortfall(s, world["w"].fe1, installation_id=world["inst"])


def test_concurrent_double_receive_restocks_once(engine: Engine) -> None:
    with session_scope(engine) as s:
        world = procurement_world(s)
    world["engine"] = engine
    w = world["w"]
    rid = _new(world, estimated_cost="100")
    with session_scope(engine) as s:
        approve_request(s, w.procurement, request_id=rid)
        order_request(s, w.procurement, request_id=rid)
    n = 6
    barrier = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        try:
            with session_scope(engine) as s:
                receive_request(s, w.procurement, request_id=rid, actual_cost="99")
            result = "ok"
        except TransitionError:
            result = "transition"
        except DomainError as e:  # pragma: no cover - would be a bug
            result = f"other: {e}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["transition"] * (n - 1)
    with session_scope(engine, readonly=True) as s:
        assert s.execute(select(func.count()).select_from(StockMovement)).scalar_one() == 1
        assert (
            s.execute(
                select(MaterialStock.quantity_available).where(
                    MaterialStock.material_id == world["cable"]
                )
            ).scalar_one()
            == 10
        )


def test_concurrent_shortfall_clicks_raise_the_missing_quantity_once(engine: Engine) -> None:
    with session_scope(engine) as s:
        world = procurement_world(s)
        w = world["w"]
        add_stock(s, world["cable"], w.zone_id, 6)  # 9 m short
        add_stock(s, w.charger_id, w.zone_id, 1)  # charger covered
    n = 4
    barrier = threading.Barrier(n)
    errors: list[str] = []

    def worker() -> None:
        barrier.wait()
        try:
            with session_scope(engine) as s:
                raise_requests_for_shortfall(s, w.procurement, installation_id=world["inst"])
        except Exception as e:  # noqa: BLE001 - any error fails the test below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_scope(engine, readonly=True) as s:
        rows = s.execute(select(ProcurementRequest.material_id, ProcurementRequest.quantity)).all()
        assert [tuple(r) for r in rows] == [(world["cable"], 9)]
