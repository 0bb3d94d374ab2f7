"""Leads: filter and page through leads, see one lead's detail, import an OEM lead sheet,
add or cancel a lead. Every action is one domain call in one transaction; an oem_viewer sees
only its own OEM (enforced in the domain queries)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import local_time, localise_columns, md_escape, run_command, show_domain_error
from domain.accounts import queries as account_queries
from domain.accounts.models import CHARGER_TYPES
from domain.errors import DomainError
from domain.leads import queries
from domain.leads.importer import errors_to_csv, import_leads
from domain.leads.models import LEAD_STATUSES
from domain.leads.service import CANCELLABLE_STATUSES, cancel_lead, create_lead
from domain.permissions import can

ALL = "All"
NONE = "—"
PAGE_SIZE = 50
RESULT_KEY = "leads_import_result"
PAGE_KEY = "leads_page"
FLASH_KEY = "leads_flash"
COLUMN_TITLES = {
    "ref": "Ref",
    "oem_lead_ref": "OEM lead id",
    "oem_code": "OEM",
    "customer_name": "Customer",
    "phone": "Phone",
    "city": "City",
    "pincode": "Pincode",
    "zone_name": "Zone",
    "status": "Status",
    "received_at": "Received",
}

actor = current_actor()
st.title("Leads")
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash)

with session_scope(readonly=True) as s:
    oems = queries.list_oems_for(s, actor)
    zones = account_queries.list_zones(s, active_only=False)
oem_by_label = {f"{o.name} ({o.code})": o.id for o in oems}
zone_by_label = {f"{z.name} ({z.code})": z.id for z in zones}

tab_names = ["Browse"]
may_import = can(actor, "lead.import")
may_create = can(actor, "lead.create")
if may_import:
    tab_names.append("Import lead sheet")
if may_create:
    tab_names.append("Add lead")
tabs = dict(zip(tab_names, st.tabs(tab_names), strict=True))

# --- Import (handled before the table is queried, so the table shows the new leads) -------
if may_import:
    with tabs["Import lead sheet"]:
        st.caption(
            "CSV or XLSX with the OEM's columns: lead id, customer name, phone, email, "
            "address, city, pincode, vehicle model, date. Extra columns are ignored; "
            "bad and duplicate rows are listed below and not imported."
        )
        with st.form("leads_import_form"):
            import_oem = st.selectbox(
                "OEM the sheet comes from",
                list(oem_by_label),
                index=None,
                placeholder="Choose the OEM",
                key="leads_import_oem",
            )
            upload = st.file_uploader("Lead sheet", type=["csv", "xlsx"], key="leads_import_file")
            import_clicked = st.form_submit_button("Import", key="leads_import_submit")
        if import_clicked:
            if upload is None:
                st.warning("Choose a CSV or XLSX file first.")
            elif import_oem is None:
                st.warning("Choose the OEM the sheet comes from.")
            else:

                def import_refused(error: DomainError) -> None:
                    st.session_state.pop(RESULT_KEY, None)
                    show_domain_error(error)

                oem_id, sheet = oem_by_label[import_oem], upload
                result = run_command(
                    lambda s: import_leads(
                        s,
                        actor,
                        oem_id=oem_id,
                        filename=sheet.name,
                        content=sheet.getvalue(),
                    ),
                    on_error=import_refused,
                )
                if result is not None:
                    st.session_state[RESULT_KEY] = {
                        "oem": import_oem,
                        "filename": result.filename,
                        "total": result.total,
                        "imported": result.imported,
                        "rejected": result.rejected,
                        "errors": [
                            {"row": e.row, "field": e.field, "reason": e.reason, "value": e.value}
                            for e in result.errors
                        ],
                        "csv": errors_to_csv(result),
                    }
                    st.session_state[PAGE_KEY] = 1
        last = st.session_state.get(RESULT_KEY)
        if last:
            st.success(
                f"{last['filename']} for {last['oem']}: {last['imported']} of "
                f"{last['total']} rows imported, {last['rejected']} rejected."
            )
            m1, m2, m3 = st.columns(3)
            m1.metric("Rows in sheet", last["total"])
            m2.metric("Imported", last["imported"])
            m3.metric("Rejected", last["rejected"])
            if last["errors"]:
                st.subheader("Rows not imported")
                st.dataframe(
                    pd.DataFrame(last["errors"], columns=["row", "field", "reason", "value"]),
                    hide_index=True,
                    width="stretch",
                )
                st.download_button(
                    "Download errors (CSV)",
                    data=last["csv"],
                    file_name=f"{last['filename'].rsplit('.', 1)[0]}-errors.csv",
                    mime="text/csv",
                    key="leads_import_errors_csv",
                )

# --- Add a lead by hand ---------------------------------------------------------------------
if may_create:
    with tabs["Add lead"]:
        with st.form("leads_create_form"):
            c1, c2 = st.columns(2)
            new_oem = c1.selectbox("OEM", list(oem_by_label), key="leads_new_oem")
            new_ref = c2.text_input("OEM lead id", key="leads_new_ref")
            new_name = c1.text_input("Customer name", key="leads_new_name")
            new_phone = c2.text_input("Phone", key="leads_new_phone")
            new_email = c1.text_input("Email (optional)", key="leads_new_email")
            new_city = c2.text_input("City", key="leads_new_city")
            new_address = st.text_area("Address", key="leads_new_address")
            c3, c4, c5 = st.columns(3)
            new_pin = c3.text_input("Pincode", key="leads_new_pin")
            new_vehicle = c4.text_input("Vehicle model (optional)", key="leads_new_vehicle")
            new_charger = c5.selectbox(
                "Charger type", [NONE, *CHARGER_TYPES], key="leads_new_charger"
            )
            new_received = st.text_input(
                "Received (DD/MM/YYYY, optional HH:MM, local time)", key="leads_new_received"
            )
            create_clicked = st.form_submit_button("Add lead", key="leads_create_submit")
        if create_clicked and new_oem is None:
            st.warning("There is no OEM to add a lead for.")
        elif create_clicked:
            new_lead = {
                "oem_id": oem_by_label[new_oem],
                "oem_lead_ref": new_ref,
                "customer_name": new_name,
                "phone": new_phone,
                "email": new_email or None,
                "address": new_address,
                "city": new_city,
                "pincode": new_pin,
                "vehicle_model": new_vehicle or None,
                "requested_charger_type": None if new_charger == NONE else new_charger,
                "received_at": new_received,
            }
            created = run_command(lambda s: create_lead(s, actor, **new_lead))
            if created is not None:
                st.success(f"Lead {created.ref} added.")

# --- Browse -----------------------------------------------------------------------------------
with tabs["Browse"]:
    with st.form("leads_filters"):
        f1, f2, f3 = st.columns(3)
        oem_options = list(oem_by_label) if actor.role == "oem_viewer" else [ALL, *oem_by_label]
        f_oem = f1.selectbox("OEM", oem_options, key="leads_f_oem")
        f_zone = f2.selectbox("Zone", [ALL, *zone_by_label], key="leads_f_zone")
        f_status = f3.selectbox("Status", [ALL, *LEAD_STATUSES], key="leads_f_status")
        f4, f5, f6 = st.columns(3)
        f_search = f4.text_input(
            "Search (ref, lead id, name, phone, city, pincode)", key="leads_f_search"
        )
        f_from = f5.date_input("Received from", value=None, key="leads_f_from")
        f_to = f6.date_input("Received to", value=None, key="leads_f_to")
        if st.form_submit_button("Apply filters", key="leads_f_submit"):
            st.session_state[PAGE_KEY] = 1

    filters = {
        "oem_id": oem_by_label.get(f_oem) if f_oem and f_oem != ALL else None,
        "zone_id": zone_by_label.get(f_zone) if f_zone != ALL else None,
        "status": None if f_status == ALL else f_status,
        "search": f_search or None,
        "received_from": f_from,
        "received_to": f_to,
    }
    page_no = int(st.session_state.get(PAGE_KEY, 1))
    error = None
    lead_page = None
    try:
        with session_scope(readonly=True) as s:
            lead_page = queries.list_leads(s, actor, page=page_no, page_size=PAGE_SIZE, **filters)
            if page_no > lead_page.pages:
                page_no = 1
                lead_page = queries.list_leads(s, actor, page=1, page_size=PAGE_SIZE, **filters)
    except DomainError as e:
        error = e
    if error is not None:
        show_domain_error(error)
        st.stop()
    assert lead_page is not None

    if lead_page.total == 0:
        st.info("No leads match these filters.")
    else:
        first = (lead_page.page - 1) * lead_page.page_size + 1
        st.caption(
            f"Leads {first}–{first + len(lead_page.rows) - 1} of {lead_page.total} "
            "(newest received first)"
        )
        frame = localise_columns(lead_page.to_frame(), ["received_at"]).drop(columns=["id"])
        st.dataframe(frame.rename(columns=COLUMN_TITLES), hide_index=True, width="stretch")
    if lead_page.pages > 1:
        st.session_state[PAGE_KEY] = page_no
        pager, _ = st.columns([1, 3])
        pager.number_input(
            f"Page (of {lead_page.pages})",
            min_value=1,
            max_value=lead_page.pages,
            step=1,
            key=PAGE_KEY,
        )

    # --- Detail of one lead ------------------------------------------------------------------
    ids_by_ref = {r.ref: r.id for r in lead_page.rows}
    st.subheader("Lead detail")
    picked = st.selectbox(
        "Lead", [NONE, *ids_by_ref], key="leads_detail_ref", help="Leads on this page"
    )
    detail = None
    if picked and picked != NONE:
        error = None
        try:
            with session_scope(readonly=True) as s:
                detail = queries.get_lead(s, actor, ids_by_ref[picked])
        except DomainError as e:
            error = e
        if error is not None:
            show_domain_error(error)
    if detail is not None:
        lead = detail.lead
        st.markdown(f"#### {lead.ref} · {md_escape(lead.customer_name)}")
        d1, d2, d3 = st.columns(3)
        d1.markdown(
            f"**OEM:** {md_escape(detail.oem_name)} ({detail.oem_code})  \n"
            f"**OEM lead id:** {md_escape(lead.oem_lead_ref)}  \n"
            f"**Status:** {lead.status}"
            + (f" — {md_escape(lead.cancel_reason)}" if lead.cancel_reason else "")
        )
        d2.markdown(
            f"**Phone:** {lead.phone}  \n**Email:** {md_escape(lead.email) or NONE}  \n"
            f"**Vehicle:** {md_escape(lead.vehicle_model) or NONE}  \n"
            f"**Charger:** {md_escape(lead.requested_charger_type) or NONE}"
        )
        d3.markdown(
            f"**Address:** {md_escape(lead.address)}, {md_escape(lead.city)} {lead.pincode}  \n"
            f"**Zone:** {md_escape(detail.zone_name)} ({detail.zone_code})  \n"
            f"**Received:** {local_time(lead.received_at)}  \n"
            f"**Source:** {lead.source}"
            + (
                f" ({md_escape(detail.lead_import_filename)})"
                if detail.lead_import_filename
                else ""
            )
        )
        related = [*detail.surveys, *detail.installations]
        if related:
            st.dataframe(
                pd.DataFrame(
                    [
                        {"kind": r.kind, "ref": r.ref, "status": r.status, "date": r.on}
                        for r in related
                    ]
                ),
                hide_index=True,
            )
        else:
            st.caption("No survey or installation yet.")
        if can(actor, "lead.cancel") and lead.status in CANCELLABLE_STATUSES:
            with st.form("leads_cancel_form"):
                cancel_reason = st.text_input("Reason for cancelling", key="leads_cancel_reason")
                cancel_clicked = st.form_submit_button("Cancel lead", key="leads_cancel_submit")
            if cancel_clicked:
                lead_id = lead.id
                cancelled = run_command(
                    lambda s: cancel_lead(s, actor, lead_id=lead_id, reason=cancel_reason)
                )
                if cancelled is not None:
                    st.session_state[FLASH_KEY] = f"Lead {cancelled.ref} cancelled."
                    st.rerun()
