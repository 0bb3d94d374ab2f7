"""Vendors page (AppTest) on a temporary SQLite file database (fixture ``app_engine``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

import domain.models  # noqa: F401
from db.engine import session_scope
from domain.procurement.models import ProcurementRequest, Vendor
from domain.procurement.vendors import create_vendor
from tests.domain.test_installations import add_installation, build_world

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "vendors.py")


@pytest.fixture
def world(app_engine: Engine) -> dict:
    with session_scope(app_engine) as s:
        w = build_world(s)
        used = create_vendor(
            s,
            w.procurement,
            name="Used Co",
            phone="9845012345",
            zone_id=w.zone_id,
            upi_id="used@okaxis",
        )
        spare = create_vendor(
            s,
            w.procurement,
            name="Spare Co",
            phone="9845012346",
            zone_id=w.zone_id,
            bank_account="123456789012",
            bank_ifsc="HDFC0001234",
        )
        s.add(
            ProcurementRequest(
                ref="PR-2026-00001",
                installation_id=add_installation(s, w),
                material_id=w.charger_id,
                zone_id=w.zone_id,
                quantity=1,
                vendor_id=used.id,
                requested_by_id=w.procurement.user_id,
            )
        )
    return {"engine": app_engine, "w": w, "used": used.id, "spare": spare.id}


def _open(actor) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    return at.run()


def _count(engine: Engine) -> int:
    with session_scope(engine, readonly=True) as s:
        return s.execute(select(func.count()).select_from(Vendor)).scalar_one()


def _fill(at: AppTest, form: str, **values: str) -> AppTest:
    for field, value in values.items():
        at.text_input(key=f"{form}_{field}").input(value)
    return at.button(key=f"{form}_submit").click().run()


def test_list_and_csv(world: dict) -> None:
    at = _open(world["w"].ops)
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["Name"]) == ["Spare Co", "Used Co"]
    assert list(table["Requests"]) == [0, 1]
    assert at.get("download_button")[0].proto.label == "Download vendors (CSV)"
    assert not at.tabs  # central ops may read, not manage


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        ({"account": "123456789012", "ifsc": "SBIN0XXXXX"}, "IFSC (bank_ifsc)"),
        ({"upi": "not a upi"}, "UPI id (upi_id)"),
        ({}, "Payment method (payment)"),
        ({"upi": "ok@okaxis", "phone": "12345"}, "Phone (phone)"),
    ],
)
def test_add_vendor_refuses_bad_input_per_field(world: dict, values: dict, shown: str) -> None:
    at = _open(world["w"].procurement)
    before = _count(world["engine"])
    at = _fill(at, "ven_new", name="New Co", phone=values.pop("phone", "9845099999"), **values)
    assert not at.exception
    assert any(e.value.startswith(shown) for e in at.error), [e.value for e in at.error]
    assert _count(world["engine"]) == before


def test_add_vendor_saves(world: dict) -> None:
    at = _open(world["w"].procurement)
    at = _fill(
        at,
        "ven_new",
        name="New Co",
        phone="98450 99999",
        account="000123456789",
        ifsc="icic0001234",
    )
    assert not at.exception and not at.error
    assert any("New Co added" in s.value for s in at.success)
    with session_scope(world["engine"], readonly=True) as s:
        v = s.execute(select(Vendor).where(Vendor.name == "New Co")).scalar_one()
        assert (v.phone, v.bank_ifsc) == ("+919845099999", "ICIC0001234")


def test_referenced_vendor_cannot_be_deleted_only_deactivated(world: dict) -> None:
    at = _open(world["w"].procurement)
    at.selectbox(key="ven_edit_pick").select("Used Co (BLR)").run()
    at.button(key="ven_delete").click().run()
    assert not at.exception
    assert any("deactivate it instead" in e.value for e in at.error)
    assert _count(world["engine"]) == 2
    at.button(key="ven_deactivate").click().run()
    assert any("Used Co deactivated" in s.value for s in at.success)
    assert list(at.dataframe[0].value["Name"]) == ["Spare Co"]
    # the unreferenced one may be deleted
    at.selectbox(key="ven_edit_pick").select("Spare Co (BLR)").run()
    at.button(key="ven_delete").click().run()
    assert not at.exception
    assert any("Spare Co deleted" in s.value for s in at.success)
    with session_scope(world["engine"], readonly=True) as s:
        assert s.get(Vendor, world["spare"]) is None
        assert s.get(Vendor, world["used"]).is_active is False


def test_edit_vendor_shows_field_error(world: dict) -> None:
    at = _open(world["w"].procurement)
    at.selectbox(key="ven_edit_pick").select("Spare Co (BLR)").run()
    form = f"ven_edit_{world['spare'].hex[:8]}"
    at = _fill(at, form, ifsc="SBIN0XXXXX")
    assert any(e.value.startswith("IFSC (bank_ifsc)") for e in at.error)
    at = _fill(at, form, ifsc="SBIN0001234", upi="spare@oksbi")
    assert any("Spare Co saved" in s.value for s in at.success)
    with session_scope(world["engine"], readonly=True) as s:
        v = s.get(Vendor, world["spare"])
        assert (v.bank_ifsc, v.upi_id) == ("SBIN0001234", "spare@oksbi")
