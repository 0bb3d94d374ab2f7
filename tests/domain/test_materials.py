"""Materials catalogue and charger kits (issue 4 item 1), on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from db.engine import session_scope
from domain.accounts.models import AuditEvent
from domain.errors import NotFound, PermissionDenied, ValidationError
from domain.procurement import queries
from domain.procurement.catalogue import (
    create_material,
    deactivate_material,
    kit_lines,
    material_by_sku,
    parse_quantity,
    set_kit_lines,
    update_material,
)
from domain.procurement.models import ChargerKitLine, Material
from tests.factories import actor_of, make_oem, make_user


def _counts(engine: Engine) -> tuple[int, int, int]:
    with session_scope(engine, readonly=True) as s:
        return tuple(  # type: ignore[return-value]
            s.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (Material, ChargerKitLine, AuditEvent)
        )


@pytest.fixture
def world(engine: Engine) -> dict:
    with session_scope(engine) as s:
        buyer = actor_of(make_user(s, "procurement", "buyer"))
        ops = actor_of(make_user(s, "central_ops", "ops"))
        viewer = actor_of(make_user(s, "oem_viewer", "viewer", oem=make_oem(s)))
        charger = create_material(
            s,
            buyer,
            sku="chg-ac-7k2",
            name="Wallbox 7.2kW AC",
            category="charger",
            unit="piece",
            power_kw="7.2",
            unit_cost="32000",
        )
        cable = create_material(
            s, buyer, sku="CBL-CU-3C-6", name="Cable 3C 6 sq mm", category="cable", unit="meter"
        )
        mcb = create_material(
            s, buyer, sku="ELE-MCB-40", name="MCB DP 40A", category="electrical", unit="piece"
        )
    return {
        "engine": engine,
        "buyer": buyer,
        "ops": ops,
        "viewer": viewer,
        "charger": charger,
        "cable": cable,
        "mcb": mcb,
    }


def test_create_normalises_sku_and_audits(world: dict) -> None:
    c = world["charger"]
    assert (c.sku, c.category, c.power_kw, c.unit_cost, c.active) == (
        "CHG-AC-7K2",
        "charger",
        Decimal("7.2"),
        Decimal("32000.00"),
        True,
    )
    with session_scope(world["engine"], readonly=True) as s:
        actions = s.execute(select(AuditEvent.action)).scalars().all()
        assert actions.count("material.create") == 3
        assert material_by_sku(s, "  chg-ac-7k2 ").id == c.id


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sku": " cbl-cu-3c-6 "}, "sku"),  # duplicate once normalised
        ({"sku": "   "}, "sku"),
        ({"sku": "CBL 3C"}, "sku"),
        ({"name": "  "}, "name"),
        ({"category": "tools"}, "category"),
        ({"unit": "litre"}, "unit"),
        ({"unit_cost": "-1"}, "unit_cost"),
        ({"unit_cost": "12.345"}, "unit_cost"),
        ({"category": "charger"}, "power_kw"),  # a charger needs its power
        ({"power_kw": "7.2"}, "power_kw"),  # only chargers have one
    ],
)
def test_bad_material_input_is_refused_and_nothing_written(
    world: dict, kwargs: dict, field: str
) -> None:
    before = _counts(world["engine"])
    base = {"sku": "MSC-NEW", "name": "New thing", "category": "misc", "unit": "piece"}
    with pytest.raises(ValidationError) as err, session_scope(world["engine"]) as s:
        create_material(s, world["buyer"], **{**base, **kwargs})
    assert field in err.value.errors
    assert field in str(err.value)
    assert _counts(world["engine"]) == before


def test_duplicate_sku_message_names_the_sku(world: dict) -> None:
    with pytest.raises(ValidationError) as err, session_scope(world["engine"]) as s:
        create_material(
            s, world["buyer"], sku="cbl-cu-3c-6", name="Dup", category="cable", unit="meter"
        )
    assert err.value.errors == {"sku": "SKU CBL-CU-3C-6 already exists"}


def test_update_and_deactivate(world: dict) -> None:
    with session_scope(world["engine"]) as s:
        m = update_material(
            s,
            world["buyer"],
            material_id=world["mcb"].id,
            sku="ele-mcb-dp-40",
            name="MCB DP 40 A",
            category="electrical",
            unit="piece",
            unit_cost="450.50",
        )
        assert (m.sku, m.unit_cost) == ("ELE-MCB-DP-40", Decimal("450.50"))
        # renaming to another material's SKU is refused
        with pytest.raises(ValidationError) as err:
            update_material(
                s,
                world["buyer"],
                material_id=world["mcb"].id,
                sku="CBL-CU-3C-6",
                name="x",
                category="electrical",
                unit="piece",
            )
        assert "sku" in err.value.errors
    with session_scope(world["engine"]) as s:
        assert deactivate_material(s, world["buyer"], material_id=world["mcb"].id).active is False
        assert [m.sku for m in queries.list_materials(s, world["ops"], active_only=True)] == [
            "CBL-CU-3C-6",
            "CHG-AC-7K2",
        ]
        with pytest.raises(NotFound):
            deactivate_material(s, world["buyer"], material_id=world["ops"].user_id)


def test_permissions(world: dict) -> None:
    with session_scope(world["engine"]) as s:
        with pytest.raises(PermissionDenied):
            create_material(s, world["ops"], sku="X-1", name="x", category="misc", unit="piece")
        with pytest.raises(PermissionDenied):
            queries.list_materials(s, world["viewer"])
        assert len(queries.list_materials(s, world["ops"])) == 3


def test_unknown_sku_lookup_names_the_field(world: dict) -> None:
    with session_scope(world["engine"], readonly=True) as s:
        with pytest.raises(ValidationError) as err:
            material_by_sku(s, "NOPE-1")
        assert err.value.errors == {"sku": "unknown SKU NOPE-1"}


def test_kit_lines_replace_validate_and_audit(world: dict) -> None:
    w = world
    with session_scope(w["engine"]) as s:
        lines = set_kit_lines(
            s,
            w["buyer"],
            charger_id=w["charger"].id,
            lines=[("cbl-cu-3c-6", "15"), {"sku": "ELE-MCB-40", "quantity": 1}, ("", None)],
        )
        assert [(x.sku, x.quantity) for x in lines] == [("CBL-CU-3C-6", 15), ("ELE-MCB-40", 1)]
    with session_scope(w["engine"]) as s:
        set_kit_lines(s, w["buyer"], charger_id=w["charger"].id, lines=[("CBL-CU-3C-6", 20)])
        assert [(x.sku, x.quantity) for x in kit_lines(s, w["charger"].id)] == [("CBL-CU-3C-6", 20)]
        events = (
            s.execute(select(AuditEvent).where(AuditEvent.action == "material.set_kit"))
            .scalars()
            .all()
        )
        assert len(events) == 2
        assert events[-1].after == {"kit": {"CBL-CU-3C-6": 20}}


@pytest.mark.parametrize(
    ("lines", "field", "needle"),
    [
        ([("NOPE-9", 1)], "sku", "unknown SKU NOPE-9"),
        ([("CBL-CU-3C-6", -2)], "quantity", "more than 0"),
        ([("CBL-CU-3C-6", "1.5")], "quantity", "whole number"),
        ([("CBL-CU-3C-6", 0)], "quantity", "more than 0"),
        ([("CBL-CU-3C-6", 2), ("cbl-cu-3c-6", 3)], "sku", "listed twice"),
        ([("CHG-AC-7K2", 1)], "sku", "cannot contain the charger"),
    ],
)
def test_bad_kit_lines_are_refused_and_nothing_written(
    world: dict, lines: list, field: str, needle: str
) -> None:
    w = world
    with session_scope(w["engine"]) as s:
        set_kit_lines(s, w["buyer"], charger_id=w["charger"].id, lines=[("ELE-MCB-40", 1)])
    before = _counts(w["engine"])
    with pytest.raises(ValidationError) as err, session_scope(w["engine"]) as s:
        set_kit_lines(s, w["buyer"], charger_id=w["charger"].id, lines=lines)
    assert needle in err.value.errors[field]
    assert _counts(w["engine"]) == before
    with session_scope(w["engine"], readonly=True) as s:
        assert [(x.sku, x.quantity) for x in kit_lines(s, w["charger"].id)] == [("ELE-MCB-40", 1)]


def test_kit_only_for_chargers(world: dict) -> None:
    with pytest.raises(ValidationError) as err, session_scope(world["engine"]) as s:
        set_kit_lines(s, world["buyer"], charger_id=world["cable"].id, lines=[("ELE-MCB-40", 1)])
    assert "charger_id" in err.value.errors


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, 3), ("4", 4), (" 5 ", 5), (Decimal("6.0"), 6), (7.0, 7)],
)
def test_parse_quantity_accepts_whole_numbers(value: object, expected: int) -> None:
    assert parse_quantity(value) == expected


@pytest.mark.parametrize("value", [None, "", "x", -1, 0, 2.5, "1.5", True, "nan", 10**7])
def test_parse_quantity_refuses_the_rest(value: object) -> None:
    with pytest.raises(ValidationError) as err:
        parse_quantity(value, "qty")
    assert list(err.value.errors) == ["qty"]
