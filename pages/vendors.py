"""Vendors (seed 004): local suppliers by zone — list, add, edit with a message per field,
deactivate (or delete one that no request names), CSV export. Every action is one domain call
in one transaction; validation and permissions are the domain's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import md_escape, run_command, show_domain_error
from domain.accounts import queries as account_queries
from domain.errors import DomainError, ValidationError
from domain.permissions import can
from domain.procurement import queries
from domain.procurement.vendors import (
    create_vendor,
    deactivate_vendor,
    delete_vendor,
    reactivate_vendor,
    update_vendor,
)

T = TypeVar("T")
ALL = "All"
NONE = "—"
FLASH_KEY = "ven_flash"
FIELD_LABELS = {
    "name": "Name",
    "phone": "Phone",
    "zone_id": "Zone",
    "upi_id": "UPI id",
    "bank_account": "Bank account",
    "bank_ifsc": "IFSC",
    "payment": "Payment method",
}
COLUMN_TITLES = {
    "name": "Name",
    "phone": "Phone",
    "zone_code": "Zone",
    "upi_id": "UPI id",
    "bank_account": "Bank account",
    "bank_ifsc": "IFSC",
    "is_active": "Active",
    "requests": "Requests",
}


def _run(action: Callable[[Any], T], form: str | None = None) -> T | None:
    """Run ``action(session)`` in one transaction; on a domain error show it (and keep a
    validation error's field messages for ``form``) and return None."""

    def refused(error: DomainError) -> None:
        if form is not None and isinstance(error, ValidationError):
            st.session_state[f"{form}_errors"] = dict(error.errors)  # shown per field
        else:
            show_domain_error(error)

    return run_command(action, on_error=refused)


def _done(message: str) -> None:
    st.session_state[FLASH_KEY] = message
    st.rerun()


def _field_errors(form: str) -> None:
    """Under the form: one ``st.error`` per field refused by the last submit."""
    for field, reason in st.session_state.pop(f"{form}_errors", {}).items():
        label = FIELD_LABELS.get(field)
        st.error(f"{label} ({field}): {reason}" if label else reason)


def vendor_form(form: str, zone_by_label: dict[str, Any], current: Any = None) -> dict | None:
    """The vendor fields in ``st.form``; the submitted values, or None if not submitted."""
    labels = list(zone_by_label)
    zone_index = 0
    if current is not None:
        ids = list(zone_by_label.values())
        zone_index = ids.index(current.zone_id) if current.zone_id in ids else 0
    with st.form(form):
        c1, c2 = st.columns(2)
        name = c1.text_input("Name", value=current.name if current else "", key=f"{form}_name")
        phone = c2.text_input(
            "Phone (India)", value=current.phone if current else "", key=f"{form}_phone"
        )
        zone = c1.selectbox("Zone", labels, index=zone_index, key=f"{form}_zone")
        upi = c2.text_input(
            "UPI id (handle@bank)",
            value=(current.upi_id or "") if current else "",
            key=f"{form}_upi",
        )
        account = c1.text_input(
            "Bank account number",
            value=(current.bank_account or "") if current else "",
            key=f"{form}_account",
        )
        ifsc = c2.text_input(
            "IFSC", value=(current.bank_ifsc or "") if current else "", key=f"{form}_ifsc"
        )
        st.caption("At least one payment method: a UPI id, or bank account + IFSC.")
        clicked = st.form_submit_button("Save vendor", key=f"{form}_submit")
    if not clicked:
        return None
    return {
        "name": name,
        "phone": phone,
        "zone_id": zone_by_label.get(zone),
        "upi_id": upi or None,
        "bank_account": account or None,
        "bank_ifsc": ifsc or None,
    }


actor = current_actor()
st.title("Vendors")
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash)
may_manage = can(actor, "vendor.manage")

with session_scope(readonly=True) as s:
    zones = account_queries.list_zones(s)
zone_by_label = {f"{z.name} ({z.code})": z.id for z in zones}

f1, f2, f3 = st.columns([2, 1, 1])
f_search = f1.text_input("Search name or phone", key="ven_f_search")
f_zone = f2.selectbox("Zone", [ALL, *zone_by_label], key="ven_f_zone")
f_inactive = f3.checkbox("Show inactive", key="ven_f_inactive")
error: DomainError | None = None
vendors = []
all_vendors = []
export: list[dict[str, Any]] = []
try:
    with session_scope(readonly=True) as s:
        vendors = queries.list_vendors(
            s,
            actor,
            zone_id=zone_by_label.get(f_zone) if f_zone != ALL else None,
            active_only=not f_inactive,
            search=f_search or None,
        )
        all_vendors = queries.list_vendors(s, actor)
        export = queries.vendors_export_rows(s, actor)
except DomainError as e:
    error = e
if error is not None:
    show_domain_error(error)
    st.stop()

if not vendors:
    st.info("No vendor matches.")
else:
    frame = pd.DataFrame(
        [{k: getattr(v, k) for k in COLUMN_TITLES} for v in vendors], columns=list(COLUMN_TITLES)
    )
    # a payment method the vendor does not use is blank, not "None"
    optional = ["upi_id", "bank_account", "bank_ifsc"]
    frame[optional] = frame[optional].astype(object).where(frame[optional].notna(), "")
    st.caption(f"{len(vendors)} vendors")
    st.dataframe(frame.rename(columns=COLUMN_TITLES), hide_index=True, width="stretch")
st.download_button(
    "Download vendors (CSV)",
    data=pd.DataFrame(export).to_csv(index=False),
    file_name="vendors.csv",
    mime="text/csv",
    key="ven_csv",
)

if may_manage:
    tab_add, tab_edit = st.tabs(["Add vendor", "Edit vendor"])
    with tab_add:
        values = vendor_form("ven_new", zone_by_label)
        if values is not None:
            created = _run(lambda s: create_vendor(s, actor, **values), form="ven_new")
            if created is not None:
                _done(f"Vendor {md_escape(created.name)} added.")
        _field_errors("ven_new")
    with tab_edit:
        by_label = {v.label: v for v in all_vendors}
        picked = st.selectbox("Vendor", [NONE, *by_label], key="ven_edit_pick")
        current = by_label.get(picked) if picked != NONE else None
        if current is not None:
            form = f"ven_edit_{current.id.hex[:8]}"
            values = vendor_form(form, zone_by_label, current)
            if values is not None:
                saved = _run(
                    lambda s: update_vendor(s, actor, vendor_id=current.id, **values), form=form
                )
                if saved is not None:
                    _done(f"Vendor {md_escape(saved.name)} saved.")
            _field_errors(form)
            b1, b2 = st.columns(2)
            if current.is_active:
                if b1.button("Deactivate", key="ven_deactivate"):
                    done = _run(lambda s: deactivate_vendor(s, actor, vendor_id=current.id))
                    if done is not None:
                        _done(f"Vendor {md_escape(done.name)} deactivated.")
            elif b1.button("Reactivate", key="ven_reactivate"):
                done = _run(lambda s: reactivate_vendor(s, actor, vendor_id=current.id))
                if done is not None:
                    _done(f"Vendor {md_escape(done.name)} reactivated.")
            if b2.button(
                "Delete",
                key="ven_delete",
                help="Only a vendor that no procurement request names can be deleted.",
            ):
                name = current.name
                if _run(lambda s: delete_vendor(s, actor, vendor_id=current.id) or True):
                    st.session_state.pop("ven_edit_pick", None)
                    _done(f"Vendor {md_escape(name)} deleted.")
