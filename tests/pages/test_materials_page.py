"""Materials page (AppTest) on a temporary SQLite file database (fixture ``app_engine``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

import domain.models  # noqa: F401
from db.engine import session_scope
from domain.procurement.catalogue import create_material, kit_lines, set_kit_lines
from domain.procurement.models import Material
from tests.factories import actor_of, make_user

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "materials.py")


@pytest.fixture
def world(app_engine: Engine) -> dict:
    with session_scope(app_engine) as s:
        buyer = actor_of(make_user(s, "procurement", "page-buyer"))
        ops = actor_of(make_user(s, "central_ops", "page-ops"))
        charger = create_material(
            s,
            buyer,
            sku="CHG-7K",
            name="Wallbox 7kW",
            category="charger",
            unit="piece",
            power_kw="7.2",
            unit_cost="30000",
        )
        create_material(s, buyer, sku="CBL-6", name="Cable 6", category="cable", unit="meter")
        create_material(s, buyer, sku="MCB-40", name="MCB 40A", category="electrical", unit="piece")
        set_kit_lines(s, buyer, charger_id=charger.id, lines=[("CBL-6", 15)])
    return {"engine": app_engine, "buyer": buyer, "ops": ops, "charger": charger.id}


def _open(actor) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    return at.run()


def _count(engine: Engine) -> int:
    with session_scope(engine, readonly=True) as s:
        return s.execute(select(func.count()).select_from(Material)).scalar_one()


def test_list_filter_and_csv(world: dict) -> None:
    at = _open(world["ops"])
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["SKU"]) == ["CBL-6", "CHG-7K", "MCB-40"]
    assert list(table["Unit cost"])[1] == "₹30,000.00"
    # read-only role: no add/edit tabs, kit shown read-only
    assert [t.label for t in at.tabs] == ["Charger kits"]
    at.selectbox(key="mat_f_category").select("cable").run()
    assert list(at.dataframe[0].value["SKU"]) == ["CBL-6"]
    csv = at.get("download_button")[0]
    assert csv.proto.label == "Download catalogue (CSV)"


def test_add_material_shows_field_errors_then_saves(world: dict) -> None:
    at = _open(world["buyer"])
    before = _count(world["engine"])
    at.text_input(key="mat_new_sku").input(" cbl-6 ")
    at.text_input(key="mat_new_name").input("Dup cable")
    at.selectbox(key="mat_new_category").select("cable")
    at.selectbox(key="mat_new_unit").select("meter")
    at.text_input(key="mat_new_cost").input("-4")
    at.button(key="mat_new_submit").click().run()
    assert not at.exception
    text = " ".join(e.value for e in at.error)
    assert "**sku**: SKU CBL-6 already exists" in text
    assert "**unit_cost**" in text
    assert _count(world["engine"]) == before
    at.text_input(key="mat_new_sku").input(" ele-rccb-40 ")
    at.text_input(key="mat_new_cost").input("1250.50")
    at.button(key="mat_new_submit").click().run()
    assert not at.exception and not at.error
    assert any("ELE-RCCB-40 added" in s.value for s in at.success)
    assert _count(world["engine"]) == before + 1


def test_edit_and_deactivate(world: dict) -> None:
    at = _open(world["buyer"])
    at.selectbox(key="mat_edit_pick").select("MCB-40 · MCB 40A").run()
    at.text_input(key="mat_edit_name").input("MCB DP 40A")
    at.button(key="mat_edit_submit").click().run()
    assert not at.exception
    assert any("MCB-40 saved" in s.value for s in at.success)
    at.selectbox(key="mat_edit_pick").select("MCB-40 · MCB DP 40A").run()
    at.button(key="mat_deactivate").click().run()
    assert any("deactivated" in s.value for s in at.success)
    assert "MCB-40" not in list(at.dataframe[0].value["SKU"])
    with session_scope(world["engine"], readonly=True) as s:
        m = s.execute(select(Material).where(Material.sku == "MCB-40")).scalar_one()
        assert (m.name, m.active) == ("MCB DP 40A", False)


def _edit_kit(at: AppTest, world: dict, state: dict) -> AppTest:
    key = f"mat_kit_editor_{world['charger']}"
    at.session_state[key] = state
    return at.button(key="mat_kit_save").click().run()


def test_kit_editor_saves_and_refuses_unknown_sku(world: dict) -> None:
    at = _open(world["buyer"])
    assert not at.exception
    # unknown SKU on an added row: refused, naming the field; the kit is unchanged
    at = _edit_kit(
        at,
        world,
        {"edited_rows": {}, "added_rows": [{"sku": "NOPE-1", "quantity": 2}], "deleted_rows": []},
    )
    assert not at.exception
    assert any("sku" in e.value and "unknown SKU NOPE-1" in e.value for e in at.error)
    with session_scope(world["engine"], readonly=True) as s:
        assert [(x.sku, x.quantity) for x in kit_lines(s, world["charger"])] == [("CBL-6", 15)]
    # a negative count is refused (the editor's step/min only guide the browser)
    at = _edit_kit(
        at,
        world,
        {"edited_rows": {"0": {"quantity": -3}}, "added_rows": [], "deleted_rows": []},
    )
    assert any("quantity" in e.value and "more than 0" in e.value for e in at.error)
    # a valid edit: quantity 20 and a new MCB line
    at = _edit_kit(
        at,
        world,
        {
            "edited_rows": {"0": {"quantity": 20}},
            "added_rows": [{"sku": "mcb-40", "quantity": 1}],
            "deleted_rows": [],
        },
    )
    assert not at.exception and not at.error
    assert any("2 lines" in s.value for s in at.success)
    with session_scope(world["engine"], readonly=True) as s:
        assert [(x.sku, x.quantity) for x in kit_lines(s, world["charger"])] == [
            ("CBL-6", 20),
            ("MCB-40", 1),
        ]
