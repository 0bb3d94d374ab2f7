"""Reorder alerts (issue 4 item 6): projected quantity in SQL, one alert per episode."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from db.engine import session_scope
from domain.notifications.models import Notification
from domain.procurement.ledger import apply_movement
from domain.procurement.models import MaterialStock
from domain.procurement.reorder import raise_reorder_alerts, stock_below_reorder
from domain.procurement.requests import approve_request, create_request, order_request
from tests.domain.test_procurement_requests import add_stock, procurement_world


@pytest.fixture
def world(engine: Engine) -> dict:
    with session_scope(engine) as s:
        pw = procurement_world(s)
        w = pw["w"]
        pw["cable_stock"] = add_stock(s, pw["cable"], w.zone_id, 20)
        s.get(MaterialStock, pw["cable_stock"]).reorder_level = 10
        pw["charger_stock"] = add_stock(s, w.charger_id, w.zone_id, 8)
        s.get(MaterialStock, pw["charger_stock"]).reorder_level = 2
        pw["mum_stock"] = add_stock(s, pw["cable"], pw["other_zone"], 1)  # level 5: below
    pw["engine"] = engine
    return pw


def _take(engine: Engine, stock_id, qty: int) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        kind = "adjustment" if qty < 0 else "receipt"
        apply_movement(
            s,
            material_stock_id=stock_id,
            kind=kind,
            quantity_delta=qty,
            actor_id=None,
            reason="count",
        )


def _alerts(engine: Engine) -> list[Notification]:
    with session_scope(engine, readonly=True) as s:
        rows = s.execute(select(Notification).order_by(Notification.created_at)).scalars().all()
        s.expunge_all()
        return list(rows)


def test_projection_counts_on_order_and_filters_by_zone(world: dict) -> None:
    w = world["w"]
    eng = world["engine"]
    with session_scope(eng, readonly=True) as s:
        rows = stock_below_reorder(s)
        assert [(r.zone_code, r.sku, r.projected, r.suggested_order) for r in rows] == [
            ("MUM", "CBL-6", 1, 9)  # 2 * 5 - 1
        ]
        assert stock_below_reorder(s, zone_id=w.zone_id) == []
    _take(eng, world["cable_stock"], -12)  # 8 free, level 10
    with session_scope(eng) as s:
        (row,) = stock_below_reorder(s, zone_id=w.zone_id)
        assert (row.sku, row.quantity_available, row.on_order, row.projected) == ("CBL-6", 8, 0, 8)
        assert row.suggested_order == 12  # 2 * 10 - 8
        # a request counts as on order once approved, not while merely requested
        r = create_request(
            s,
            w.procurement,
            installation_id=world["inst"],
            material_id=world["cable"],
            quantity=2,
            estimated_cost="240",
        )
        assert stock_below_reorder(s, zone_id=w.zone_id)[0].on_order == 0
        approve_request(s, w.procurement, request_id=r.id)
        (row,) = stock_below_reorder(s, zone_id=w.zone_id)
        assert (row.on_order, row.projected, row.suggested_order) == (2, 10, 10)
        # ordered still counts; one more unit on order lifts it above the level
        order_request(s, w.procurement, request_id=r.id)
        assert stock_below_reorder(s, zone_id=w.zone_id)[0].projected == 10
        r2 = create_request(
            s,
            w.procurement,
            installation_id=world["inst"],
            material_id=world["cable"],
            quantity=1,
            estimated_cost="120",
        )
        approve_request(s, w.procurement, request_id=r2.id)
        assert stock_below_reorder(s, zone_id=w.zone_id) == []


def test_one_alert_per_episode_not_per_hour(world: dict) -> None:
    eng = world["engine"]
    with session_scope(eng) as s:
        assert raise_reorder_alerts(s) == 1  # MUM cable
    _take(eng, world["cable_stock"], -12)  # BLR cable 8 <= 10
    for _ in range(3):  # the hourly job, again and again
        with session_scope(eng) as s:
            raise_reorder_alerts(s)
    alerts = _alerts(eng)
    assert len(alerts) == 2
    blr = next(a for a in alerts if a.entity_id == str(world["cable_stock"]))
    assert (blr.kind, blr.recipient_role, blr.entity_type) == (
        "reorder_alert",
        "procurement",
        "material_stock",
    )
    assert "Suggested order: 12 meter" in blr.body
    # a small receipt that does not lift it above the level: same episode, no new alert
    _take(eng, world["cable_stock"], 1)
    with session_scope(eng) as s:
        assert raise_reorder_alerts(s) == 0
    # replenished above the level, then falls again: exactly one new alert
    _take(eng, world["cable_stock"], 20)  # 29
    with session_scope(eng) as s:
        assert raise_reorder_alerts(s) == 0
    _take(eng, world["cable_stock"], -25)  # 4
    with session_scope(eng) as s:
        assert raise_reorder_alerts(s) == 1
        assert raise_reorder_alerts(s) == 0
    assert len(_alerts(eng)) == 3
    assert all(a.recipient_role == "procurement" for a in _alerts(eng))


def test_deactivated_material_is_not_alerted(world: dict) -> None:
    from domain.procurement.catalogue import deactivate_material

    eng = world["engine"]
    with session_scope(eng) as s:
        deactivate_material(s, world["w"].admin, material_id=world["cable"])
        assert stock_below_reorder(s) == []
        assert raise_reorder_alerts(s) == 0
