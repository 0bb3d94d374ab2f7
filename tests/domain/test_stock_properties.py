"""Property-based (hypothesis): random sequences of receipts, allocations, dispatches,
deliveries, returns and count adjustments, each in its own transaction, keep every invariant
(seed 004) on SQLite (60 sequences) and PostgreSQL (15 sequences):

* stock never negative and equal to a simple model of it;
* ledger == stock for every row;
* allocation states legal and equal to the model; each allocation restocked at most once;
* the installation only ever in planned / material_pending / material_ready, with
  ``material_ready`` exactly when its charger is delivered.
"""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from db.engine import session_scope
from domain.errors import TransitionError
from domain.installations.models import Installation
from domain.procurement.allocations import (
    allocate,
    deliver,
    dispatch,
    return_allocation,
)
from domain.procurement.ledger import InsufficientStock
from domain.procurement.models import Material, MaterialAllocation, MaterialStock, StockMovement
from domain.procurement.stock import adjust_stock, receive_stock
from domain.procurement.stock_queries import ledger_mismatches
from tests.domain.test_installations import InstWorld, add_installation
from tests.factories import actor_of, make_oem, make_team, make_user, make_zone

JOBS = 3

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("receive"), st.integers(1, 20)),
        st.tuples(st.just("allocate"), st.integers(0, JOBS - 1), st.integers(1, 15)),
        st.tuples(st.just("dispatch"), st.integers(0, 50)),
        st.tuples(st.just("deliver"), st.integers(0, 50)),
        st.tuples(st.just("return"), st.integers(0, 50)),
        st.tuples(st.just("adjust"), st.integers(0, 40)),
    ),
    min_size=1,
    max_size=25,
)

NEXT = {"dispatch": ("allocated", "dispatched"), "deliver": ("dispatched", "delivered")}
ACTIVE = ("allocated", "dispatched", "delivered")


def _world(engine: Engine) -> tuple[InstWorld, list[uuid.UUID], uuid.UUID]:
    """A fresh world with unique codes (many per database), its jobs and its stock row."""
    tag = uuid.uuid4().hex[:6].upper()
    with session_scope(engine) as s:
        zone = make_zone(s, code=f"Z{tag}", name=f"Zone {tag}", districts=(f"D{tag}",))
        oem = make_oem(s, code=f"O{tag}")
        team = make_team(s, zone, f"T{tag}")
        charger = Material(name="Wallbox", sku=f"CHG-{tag}", category="charger", unit="piece")
        s.add(charger)
        s.flush()
        buyer = actor_of(make_user(s, "procurement", f"buyer-{tag.lower()}"))
        w = InstWorld(
            zone_id=zone.id,
            tata_id=oem.id,
            mg_id=oem.id,
            team1_id=team.id,
            team2_id=team.id,
            charger_id=charger.id,
            admin=buyer,
            ops=buyer,
            fe1=buyer,
            fe2=buyer,
            procurement=buyer,
            tata_viewer=buyer,
            mg_viewer=buyer,
        )
        jobs = [add_installation(s, w, material_ready=False) for _ in range(JOBS)]
        stock_id = receive_stock(
            s, buyer, material_id=charger.id, zone_id=zone.id, quantity=10, reason="opening"
        ).material_stock_id
    return w, jobs, stock_id


def _check(
    engine: Engine,
    stock_id: uuid.UUID,
    jobs: list[uuid.UUID],
    expected_stock: int,
    model: dict[uuid.UUID, tuple[uuid.UUID, str]],
) -> None:
    with session_scope(engine, readonly=True) as s:
        stock = s.execute(
            select(MaterialStock.quantity_available).where(MaterialStock.id == stock_id)
        ).scalar_one()
        assert stock >= 0
        assert stock == expected_stock
        assert ledger_mismatches(s) == []
        rows = dict(
            s.execute(
                select(MaterialAllocation.id, MaterialAllocation.status).where(
                    MaterialAllocation.installation_id.in_(jobs)
                )
            ).all()
        )
        assert rows == {aid: status for aid, (_, status) in model.items()}
        returns = dict(
            s.execute(
                select(StockMovement.allocation_id, func.count())
                .where(StockMovement.kind == "return", StockMovement.material_stock_id == stock_id)
                .group_by(StockMovement.allocation_id)
            ).all()
        )
        assert returns == {aid: 1 for aid, (_, st_) in model.items() if st_ == "returned"}
        for job in jobs:
            inst = s.get(Installation, job)
            assert inst is not None
            assert inst.status in ("planned", "material_pending", "material_ready")
            delivered = any(j == job and st_ == "delivered" for j, st_ in model.values())
            assert inst.material_ready == delivered
            assert (inst.status == "material_ready") == delivered


def _run(engine: Engine, ops: list[tuple]) -> None:
    w, jobs, stock_id = _world(engine)
    buyer = w.procurement
    stock = 10
    model: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}  # allocation -> (job, status)
    order: list[uuid.UUID] = []
    for op in ops:
        kind = op[0]
        if kind == "receive":
            with session_scope(engine) as s:
                receive_stock(
                    s,
                    buyer,
                    material_id=w.charger_id,
                    zone_id=w.zone_id,
                    quantity=op[1],
                    reason=None,
                )
            stock += op[1]
        elif kind == "adjust":
            with session_scope(engine) as s:
                version = s.execute(
                    select(MaterialStock.version).where(MaterialStock.id == stock_id)
                ).scalar_one()
                adjust_stock(
                    s,
                    buyer,
                    stock_id=stock_id,
                    expected_version=version,
                    quantity_available=op[1],
                    reason="count",
                )
            stock = op[1]
        elif kind == "allocate":
            job, qty = jobs[op[1]], op[2]
            try:
                with session_scope(engine) as s:
                    dto = allocate(
                        s, buyer, installation_id=job, material_id=w.charger_id, quantity=qty
                    )
            except InsufficientStock:
                assert qty > stock
            else:
                assert qty <= stock
                stock -= qty
                model[dto.id] = (job, "allocated")
                order.append(dto.id)
        elif order:
            aid = order[op[1] % len(order)]
            job, status = model[aid]
            command = {"dispatch": dispatch, "deliver": deliver, "return": return_allocation}[kind]
            legal = status in ACTIVE if kind == "return" else status == NEXT[kind][0]
            try:
                with session_scope(engine) as s:
                    command(s, buyer, allocation_id=aid)
            except TransitionError:
                assert not legal
            else:
                assert legal
                if kind == "return":
                    model[aid] = (job, "returned")
                    with session_scope(engine, readonly=True) as s:
                        qty = s.execute(
                            select(MaterialAllocation.quantity).where(MaterialAllocation.id == aid)
                        ).scalar_one()
                    stock += qty
                else:
                    model[aid] = (job, NEXT[kind][1])
        _check(engine, stock_id, jobs, stock, model)


def test_random_sequences_keep_invariants(engine: Engine) -> None:
    examples = 60 if engine.dialect.name == "sqlite" else 15

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        database=None,
    )
    @given(ops=OPS)
    def run(ops: list[tuple]) -> None:
        _run(engine, ops)

    run()
