"""Procurement requests (seed 004): list with filters (status, zone, search) and CSV export;
raise a request for an installation; act on one request by its state — approve (estimated
cost; above the configured limit a manager must approve), order (vendor, estimated cost),
receive (actual cost; adds the stock to the zone) or cancel. Every action is one domain call
in one transaction; rules and permissions are the domain's."""

from __future__ import annotations

from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import local_time, md_escape, money, run_command, show_domain_error
from db.settings import get_settings
from domain.accounts import queries as account_queries
from domain.errors import DomainError
from domain.permissions import can
from domain.procurement import queries
from domain.procurement.models import REQUEST_STATUSES
from domain.procurement.requests import (
    CANCELLABLE,
    approve_request,
    cancel_request,
    create_request,
    order_request,
    receive_request,
)
from domain.procurement.stock_queries import find_installations

T = TypeVar("T")
ALL = "All"
NONE = "—"
PAGE_SIZE = 50
PAGE_KEY = "pr_page"
FLASH_KEY = "pr_flash"
COLUMN_TITLES = {
    "ref": "Ref",
    "status": "Status",
    "installation_ref": "Installation",
    "zone_code": "Zone",
    "sku": "SKU",
    "material_name": "Material",
    "quantity": "Quantity",
    "unit": "Unit",
    "vendor_name": "Vendor",
    "estimated_cost": "Estimated",
    "actual_cost": "Actual",
    "requested_by": "Requested by",
    "approved_by": "Approved by",
    "created_at": "Raised",
}


def _done(message: str) -> None:
    st.session_state[FLASH_KEY] = message
    st.rerun()


def _money(value: Any) -> str:
    return NONE if value is None else money(value)


actor = current_actor()
st.title("Procurement requests")
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash)
limit = get_settings().procurement_approval_limit_inr
st.caption(
    f"Lifecycle: requested → approved → ordered → received (or cancelled). Estimates above "
    f"{money(limit)} need a manager's approval."
)

with session_scope(readonly=True) as s:
    zones = account_queries.list_zones(s, active_only=False)
zone_by_label = {f"{z.name} ({z.code})": z.id for z in zones}

may_create = can(actor, "procurement_request.create")
tab_names = ["Requests"] + (["New request"] if may_create else [])
tabs = dict(zip(tab_names, st.tabs(tab_names), strict=True))

# --- New request ---------------------------------------------------------------------------
if may_create:
    with tabs["New request"]:
        search = st.text_input("Find the installation (ref or customer)", key="pr_new_search")
        error: DomainError | None = None
        options = []
        materials = []
        try:
            with session_scope(readonly=True) as s:
                options = find_installations(s, actor, search=search or None, limit=30)
                materials = queries.list_materials(s, actor, active_only=True)
        except DomainError as e:
            error = e
        if error is not None:
            show_domain_error(error)
        inst_by_label = {o.label: o for o in options}
        mat_by_label = {m.label: m.id for m in materials}
        picked_inst = st.selectbox(
            "Installation", [NONE, *inst_by_label], key="pr_new_inst", help="Newest first"
        )
        inst = inst_by_label.get(picked_inst)
        vendors = []
        if inst is not None:
            with session_scope(readonly=True) as s:
                vendors = queries.list_vendors(s, actor, zone_id=inst.zone_id, active_only=True)
        vendor_by_label = {v.label: v.id for v in vendors}
        with st.form("pr_new_form"):
            c1, c2 = st.columns(2)
            new_mat = c1.selectbox("Material", [NONE, *mat_by_label], key="pr_new_mat")
            new_qty = c2.text_input("Quantity (whole units)", key="pr_new_qty")
            new_vendor = c1.selectbox(
                "Vendor (optional, of the installation's zone)",
                [NONE, *vendor_by_label],
                key="pr_new_vendor",
            )
            new_cost = c2.text_input("Estimated cost (INR, optional)", key="pr_new_cost")
            new_clicked = st.form_submit_button("Raise request", key="pr_new_submit")
        if new_clicked:
            if inst is None or new_mat == NONE:
                st.warning("Choose the installation and the material.")
            else:
                created = run_command(
                    lambda s: create_request(
                        s,
                        actor,
                        installation_id=inst.id,
                        material_id=mat_by_label[new_mat],
                        quantity=new_qty,
                        vendor_id=vendor_by_label.get(new_vendor),
                        estimated_cost=new_cost or None,
                    )
                )
                if created is not None:
                    st.session_state[PAGE_KEY] = 1
                    _done(f"Request {created.ref} raised.")

# --- List ------------------------------------------------------------------------------------
with tabs["Requests"]:
    with st.form("pr_filters"):
        f1, f2, f3 = st.columns(3)
        f_status = f1.selectbox("Status", [ALL, *REQUEST_STATUSES], key="pr_f_status")
        f_zone = f2.selectbox("Zone", [ALL, *zone_by_label], key="pr_f_zone")
        f_search = f3.text_input("Ref, installation or SKU", key="pr_f_search")
        if st.form_submit_button("Apply filters", key="pr_f_submit"):
            st.session_state[PAGE_KEY] = 1
    filters = {
        "status": None if f_status == ALL else f_status,
        "zone_id": zone_by_label.get(f_zone) if f_zone != ALL else None,
        "search": f_search or None,
    }
    page_no = int(st.session_state.get(PAGE_KEY, 1))
    error = None
    result = None
    export: list[dict[str, Any]] = []
    try:
        with session_scope(readonly=True) as s:
            result = queries.list_requests(s, actor, page=page_no, page_size=PAGE_SIZE, **filters)
            if page_no > result.pages:
                page_no = 1
                result = queries.list_requests(s, actor, page=1, page_size=PAGE_SIZE, **filters)
            export = queries.requests_export_rows(s, actor, **filters)
    except DomainError as e:
        error = e
    if error is not None:
        show_domain_error(error)
        st.stop()
    assert result is not None

    if result.total == 0:
        st.info("No procurement request matches these filters.")
    else:
        first = (result.page - 1) * result.page_size + 1
        st.caption(f"Requests {first}–{first + len(result.rows) - 1} of {result.total}")
        frame = result.to_frame()[list(COLUMN_TITLES)]
        frame["estimated_cost"] = [_money(v) for v in frame["estimated_cost"]]
        frame["actual_cost"] = [_money(v) for v in frame["actual_cost"]]
        frame["created_at"] = [local_time(v) for v in frame["created_at"]]
        st.dataframe(frame.rename(columns=COLUMN_TITLES), hide_index=True, width="stretch")
    if result.pages > 1:
        st.session_state[PAGE_KEY] = page_no
        pager, _ = st.columns([1, 3])
        pager.number_input(
            f"Page (of {result.pages})", min_value=1, max_value=result.pages, step=1, key=PAGE_KEY
        )
    st.download_button(
        "Download requests (CSV)",
        data=pd.DataFrame(export).to_csv(index=False),
        file_name="procurement_requests.csv",
        mime="text/csv",
        key="pr_csv",
    )

    # --- One request: actions by state ----------------------------------------------------------
    st.subheader("Request")
    ids_by_ref = {r.ref: r.id for r in result.rows}
    picked = st.selectbox("Request", [NONE, *ids_by_ref], key="pr_pick", help="On this page")
    detail = None
    if picked != NONE:
        with session_scope(readonly=True) as s:
            detail = queries.get_request(s, actor, ids_by_ref[picked])
    if detail is not None:
        r = detail
        st.markdown(
            f"#### {r.ref} · {r.status}\n"
            f"**{r.quantity} {md_escape(r.unit)}** of {md_escape(r.sku)} "
            f"({md_escape(r.material_name)}) for installation "
            f"{r.installation_ref}, zone {r.zone_code}. "
            f"Vendor: {md_escape(r.vendor_name) or NONE}. "
            f"Estimated {_money(r.estimated_cost)}, actual {_money(r.actual_cost)}."
        )
        if r.status == "requested" and can(actor, "procurement_request.approve"):
            with st.form(f"pr_approve_{r.id.hex[:8]}"):
                a_cost = st.text_input(
                    "Estimated cost (INR)",
                    value="" if r.estimated_cost is None else str(r.estimated_cost),
                    key="pr_approve_cost",
                )
                approve_clicked = st.form_submit_button("Approve", key="pr_approve_submit")
            if approve_clicked:
                done = run_command(
                    lambda s: approve_request(
                        s, actor, request_id=r.id, estimated_cost=a_cost or None
                    )
                )
                if done is not None:
                    _done(f"Request {done.ref} approved.")
        if r.status == "approved" and can(actor, "procurement_request.order"):
            with session_scope(readonly=True) as s:
                zone_vendors = queries.list_vendors(s, actor, zone_id=r.zone_id, active_only=True)
            vendor_ids = {v.label: v.id for v in zone_vendors}
            labels = [NONE, *vendor_ids]
            current = next((v.label for v in zone_vendors if v.id == r.vendor_id), NONE)
            with st.form(f"pr_order_{r.id.hex[:8]}"):
                o_vendor = st.selectbox(
                    "Vendor", labels, index=labels.index(current), key="pr_order_vendor"
                )
                o_cost = st.text_input(
                    "Estimated cost (INR)",
                    value="" if r.estimated_cost is None else str(r.estimated_cost),
                    key="pr_order_cost",
                )
                order_clicked = st.form_submit_button("Mark ordered", key="pr_order_submit")
            if order_clicked:
                done = run_command(
                    lambda s: order_request(
                        s,
                        actor,
                        request_id=r.id,
                        vendor_id=vendor_ids.get(o_vendor),
                        estimated_cost=o_cost or None,
                    )
                )
                if done is not None:
                    _done(f"Request {done.ref} ordered.")
        if r.status == "ordered" and can(actor, "procurement_request.receive"):
            with st.form(f"pr_receive_{r.id.hex[:8]}"):
                rc_cost = st.text_input("Actual cost (INR)", key="pr_receive_cost")
                receive_clicked = st.form_submit_button(
                    f"Receive {r.quantity} {r.unit} into {r.zone_code} stock",
                    key="pr_receive_submit",
                )
            if receive_clicked:
                done = run_command(
                    lambda s: receive_request(s, actor, request_id=r.id, actual_cost=rc_cost)
                )
                if done is not None:
                    _done(f"Request {done.ref} received: {r.quantity} {r.unit} added to stock.")
        if r.status in CANCELLABLE and can(actor, "procurement_request.cancel"):
            with st.form(f"pr_cancel_{r.id.hex[:8]}"):
                c_reason = st.text_input("Reason (optional)", key="pr_cancel_reason")
                cancel_clicked = st.form_submit_button("Cancel request", key="pr_cancel_submit")
            if cancel_clicked:
                done = run_command(
                    lambda s: cancel_request(s, actor, request_id=r.id, reason=c_reason or None)
                )
                if done is not None:
                    _done(f"Request {done.ref} cancelled.")
