"""Vendors (issue 4 item 5): validation of phone and payment methods, deactivate vs delete."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from db.engine import session_scope
from domain.accounts.models import AuditEvent
from domain.errors import Conflict, PermissionDenied, ValidationError
from domain.procurement import queries
from domain.procurement.models import ProcurementRequest, Vendor
from domain.procurement.vendors import (
    create_vendor,
    deactivate_vendor,
    delete_vendor,
    normalise_ifsc,
    normalise_upi,
    reactivate_vendor,
    update_vendor,
)
from tests.domain.test_installations import add_installation, build_world


def _counts(engine: Engine) -> tuple[int, int]:
    with session_scope(engine, readonly=True) as s:
        return tuple(  # type: ignore[return-value]
            s.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (Vendor, AuditEvent)
        )


@pytest.fixture
def world(engine: Engine) -> dict:
    with session_scope(engine) as s:
        w = build_world(s)
        vendor = create_vendor(
            s,
            w.procurement,
            name="  Shree   Electricals ",
            phone="98450 12345",
            zone_id=w.zone_id,
            upi_id="shree.elec@okaxis",
        )
        inst = add_installation(s, w)
    return {"engine": engine, "w": w, "vendor": vendor, "inst": inst}


GOOD = {"name": "Lakshmi Cables", "phone": "+91-98450-22222"}


def test_create_normalises(world: dict) -> None:
    v = world["vendor"]
    assert (v.name, v.phone, v.upi_id, v.bank_account, v.is_active) == (
        "Shree Electricals",
        "+919845012345",
        "shree.elec@okaxis",
        None,
        True,
    )
    with session_scope(world["engine"]) as s:
        bank = create_vendor(
            s,
            world["w"].procurement,
            zone_id=world["w"].zone_id,
            bank_account="1234 5678 9012",
            bank_ifsc="sbin0001234",
            **GOOD,
        )
        assert (bank.bank_account, bank.bank_ifsc, bank.upi_id) == (
            "123456789012",
            "SBIN0001234",
            None,
        )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"bank_account": "123456789012", "bank_ifsc": "SBIN0XXXXX"}, "bank_ifsc"),
        ({"bank_account": "123456789012", "bank_ifsc": "SBIN1001234"}, "bank_ifsc"),
        ({"upi_id": "not-a-upi"}, "upi_id"),
        ({"upi_id": "a@1bank"}, "upi_id"),
        ({"upi_id": "x@ok"}, "upi_id"),
        ({}, "payment"),
        ({"upi_id": "  "}, "payment"),
        ({"bank_account": "123456789012"}, "bank_ifsc"),
        ({"bank_ifsc": "HDFC0000123"}, "bank_account"),
        ({"bank_account": "12345678", "bank_ifsc": "HDFC0000123"}, "bank_account"),
        ({"bank_account": "12345abc901", "bank_ifsc": "HDFC0000123"}, "bank_account"),
        ({"upi_id": "ok@okaxis", "phone": "12345"}, "phone"),
        ({"upi_id": "ok@okaxis", "name": " "}, "name"),
        ({"upi_id": "ok@okaxis", "zone_id": None}, "zone_id"),
    ],
)
def test_bad_vendor_input_refused_naming_field_and_nothing_written(
    world: dict, kwargs: dict, field: str
) -> None:
    before = _counts(world["engine"])
    args = {**GOOD, "zone_id": world["w"].zone_id, **kwargs}
    with pytest.raises(ValidationError) as err, session_scope(world["engine"]) as s:
        create_vendor(s, world["w"].procurement, **args)
    assert field in err.value.errors, err.value.errors
    assert field in str(err.value)
    assert _counts(world["engine"]) == before


def test_ifsc_sbin0xxxxx_refused_with_format_message() -> None:
    with pytest.raises(ValidationError) as err:
        normalise_ifsc("SBIN0XXXXX")
    assert "11 characters" in err.value.errors["bank_ifsc"]
    assert normalise_ifsc(" hdfc0abc123 ") == "HDFC0ABC123"
    assert normalise_upi(" asha.rao-1_x@okhdfcbank ") == "asha.rao-1_x@okhdfcbank"


def test_update_validates_and_audits(world: dict) -> None:
    w = world["w"]
    with session_scope(world["engine"]) as s:
        v = update_vendor(
            s,
            w.procurement,
            vendor_id=world["vendor"].id,
            name="Shree Electricals",
            phone="9845012345",
            zone_id=w.zone_id,
            upi_id=None,
            bank_account="000123456789",
            bank_ifsc="ICIC0001234",
        )
        assert (v.upi_id, v.bank_ifsc) == (None, "ICIC0001234")
        event = s.execute(
            select(AuditEvent).where(AuditEvent.action == "vendor.update")
        ).scalar_one()
        assert event.before == {
            "upi_id": "shree.elec@okaxis",
            "bank_account": None,
            "bank_ifsc": None,
        }
    with pytest.raises(ValidationError) as err, session_scope(world["engine"]) as s:
        update_vendor(
            s,
            w.procurement,
            vendor_id=world["vendor"].id,
            name="Shree Electricals",
            phone="9845012345",
            zone_id=w.zone_id,
        )
    assert "payment" in err.value.errors
    with session_scope(world["engine"], readonly=True) as s:
        assert s.get(Vendor, world["vendor"].id).bank_ifsc == "ICIC0001234"


def test_referenced_vendor_is_deactivated_never_deleted(world: dict) -> None:
    w = world["w"]
    with session_scope(world["engine"]) as s:
        s.add(
            ProcurementRequest(
                ref="PR-2026-00001",
                installation_id=world["inst"],
                material_id=w.charger_id,
                zone_id=w.zone_id,
                quantity=1,
                vendor_id=world["vendor"].id,
                requested_by_id=w.procurement.user_id,
            )
        )
    before = _counts(world["engine"])
    with pytest.raises(Conflict) as err, session_scope(world["engine"]) as s:
        delete_vendor(s, w.procurement, vendor_id=world["vendor"].id)
    assert "deactivate it instead" in str(err.value) and "PR-2026-00001" in str(err.value)
    assert _counts(world["engine"]) == before
    with session_scope(world["engine"]) as s:
        assert deactivate_vendor(s, w.procurement, vendor_id=world["vendor"].id).is_active is False
        rows = queries.list_vendors(s, w.ops)
        assert [(r.name, r.is_active, r.requests, r.zone_code) for r in rows] == [
            ("Shree Electricals", False, 1, "BLR")
        ]
        assert queries.list_vendors(s, w.ops, active_only=True) == []
        assert reactivate_vendor(s, w.procurement, vendor_id=world["vendor"].id).is_active


def test_unreferenced_vendor_may_be_deleted(world: dict) -> None:
    w = world["w"]
    with session_scope(world["engine"]) as s:
        delete_vendor(s, w.procurement, vendor_id=world["vendor"].id)
    with session_scope(world["engine"], readonly=True) as s:
        assert s.get(Vendor, world["vendor"].id) is None
        assert "vendor.delete" in s.execute(select(AuditEvent.action)).scalars().all()


def test_permissions(world: dict) -> None:
    w = world["w"]
    with session_scope(world["engine"]) as s:
        with pytest.raises(PermissionDenied):
            create_vendor(s, w.ops, zone_id=w.zone_id, upi_id="a.b@okaxis", **GOOD)
        with pytest.raises(PermissionDenied):
            delete_vendor(s, w.fe1, vendor_id=world["vendor"].id)
        with pytest.raises(PermissionDenied):
            queries.list_vendors(s, w.tata_viewer)
