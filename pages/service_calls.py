"""Service calls (seed 002): open a ticket on an installed charger, list and filter tickets,
see one ticket with its visits, book / complete / cancel visits, resolve, close or cancel the
ticket and record invoice dates; average response and resolution days on top. Every action is
one domain call in one transaction; permissions and team scope are enforced in the domain."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

import pandas as pd
import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import local_time, md_escape, run_command, show_domain_error
from domain.accounts import queries as account_queries
from domain.calendar import local_date
from domain.errors import DomainError
from domain.permissions import can
from domain.scheduling import time_slots
from domain.service import queries
from domain.service.models import TICKET_STATUSES
from domain.service.service import (
    LIVE_TICKET_STATUSES,
    book_visit,
    cancel_ticket,
    cancel_visit,
    close_ticket,
    complete_visit,
    may_cancel_ticket,
    may_close,
    open_ticket,
    record_invoice,
    resolve_ticket,
    update_ticket,
)

T = TypeVar("T")
ALL = "All"
NONE = "—"
PAGE_SIZE = 50
PAGE_KEY = "svc_page"
FLASH_KEY = "svc_flash"
KINDS = {ALL: None, "Repair": False, "Maintenance": True}
SATISFACTION = {"Not asked": None, "Yes": True, "No": False}
COLUMN_TITLES = {
    "ref": "Ref",
    "installation_ref": "Installation",
    "lead_ref": "Lead",
    "customer_name": "Customer",
    "city": "City",
    "zone_name": "Zone",
    "fault_reported_date": "Fault reported",
    "nature_of_fault": "Nature of fault",
    "maintenance": "Maintenance",
    "status": "Status",
    "first_visit_date": "First visit",
    "response_days": "Response (days)",
    "resolved_date": "Resolved",
    "resolution_days": "Resolution (days)",
}


def _days(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f}"


def _done(message: str) -> None:
    st.session_state[FLASH_KEY] = message
    st.rerun()


actor = current_actor()
today = local_date(datetime.now(UTC))
st.title("Service calls")
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash)

with session_scope(readonly=True) as s:
    zones = account_queries.list_zones(s, active_only=False)
zone_by_label = {f"{z.name} ({z.code})": z.id for z in zones}

tab_names = ["Tickets"]
may_open = can(actor, "service_ticket.create")
if may_open:
    tab_names.append("Open ticket")
tabs = dict(zip(tab_names, st.tabs(tab_names), strict=True))

# --- Open a ticket on an installed charger --------------------------------------------------
if may_open:
    with tabs["Open ticket"]:
        search = st.text_input(
            "Find the installation (ref, lead ref, customer, phone, city)", key="svc_new_search"
        )
        with session_scope(readonly=True) as s:
            installed = queries.list_installed(s, actor, search=search or None)
        inst_by_label = {o.label: o.id for o in installed}
        if not installed:
            st.info("No installed charger matches; service calls are for installed chargers.")
        with st.form("svc_open_form"):
            new_inst = st.selectbox(
                "Installation", list(inst_by_label), index=None, key="svc_new_inst"
            )
            c1, c2 = st.columns(2)
            new_contact = c1.text_input("Contact name", key="svc_new_contact")
            new_phone = c2.text_input(
                "Contact phone (blank: the customer's phone)", key="svc_new_phone"
            )
            new_fault_date = c1.date_input(
                "Fault reported on", value=today, key="svc_new_fault_date"
            )
            new_maintenance = c2.checkbox(
                "Routine maintenance (not a fault repair)", key="svc_new_maintenance"
            )
            new_nature = st.text_input("Nature of fault", key="svc_new_nature")
            new_equipment = st.text_area("Equipment details", key="svc_new_equipment")
            new_notes = st.text_area("Notes", key="svc_new_notes")
            open_clicked = st.form_submit_button("Open ticket", key="svc_open_submit")
        if open_clicked:
            if new_inst is None:
                st.warning("Choose the installation the call is about.")
            else:
                created = run_command(
                    lambda s: open_ticket(
                        s,
                        actor,
                        installation_id=inst_by_label[new_inst],
                        contact=new_contact,
                        contact_phone=new_phone or None,
                        fault_reported_date=new_fault_date,
                        nature_of_fault=new_nature,
                        equipment_details=new_equipment or None,
                        maintenance=bool(new_maintenance),
                        notes=new_notes or None,
                    )
                )
                if created is not None:
                    st.session_state[PAGE_KEY] = 1
                    _done(f"Ticket {created.ref} opened.")

# --- Browse ---------------------------------------------------------------------------------
with tabs["Tickets"]:
    with st.form("svc_filters"):
        f1, f2, f3 = st.columns(3)
        f_status = f1.selectbox("Status", [ALL, *TICKET_STATUSES], key="svc_f_status")
        f_zone = f2.selectbox("Zone", [ALL, *zone_by_label], key="svc_f_zone")
        f_kind = f3.selectbox("Kind", list(KINDS), key="svc_f_kind")
        f4, f5 = st.columns(2)
        f_from = f4.date_input("Fault reported from", value=None, key="svc_f_from")
        f_to = f5.date_input("Fault reported to", value=None, key="svc_f_to")
        if st.form_submit_button("Apply filters", key="svc_f_submit"):
            st.session_state[PAGE_KEY] = 1

    filters = {
        "status": None if f_status == ALL else f_status,
        "zone_id": zone_by_label.get(f_zone) if f_zone != ALL else None,
        "maintenance": KINDS[f_kind],
        "date_from": f_from,
        "date_to": f_to,
    }
    page_no = int(st.session_state.get(PAGE_KEY, 1))
    error: DomainError | None = None
    ticket_page = None
    times = None
    try:
        with session_scope(readonly=True) as s:
            times = queries.service_times(s, actor, date_from=f_from, date_to=f_to)
            ticket_page = queries.list_tickets(
                s, actor, page=page_no, page_size=PAGE_SIZE, **filters
            )
            if page_no > ticket_page.pages:
                page_no = 1
                ticket_page = queries.list_tickets(s, actor, page=1, page_size=PAGE_SIZE, **filters)
    except DomainError as e:
        error = e
    if error is not None:
        show_domain_error(error)
        st.stop()
    assert ticket_page is not None and times is not None

    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Average response (days)", _days(times.avg_response_days))
    m2.metric("Average resolution (days)", _days(times.avg_resolution_days))
    m3.metric("Tickets", times.tickets)
    m4.metric("Resolved", times.resolved)
    st.caption(
        "Response: days from fault reported to the first visit; resolution: days from fault "
        "reported to resolved. Over tickets reported in the chosen dates (cancelled excluded)."
    )

    if ticket_page.total == 0:
        st.info("No service tickets match these filters.")
    else:
        first = (ticket_page.page - 1) * ticket_page.page_size + 1
        st.caption(
            f"Tickets {first}–{first + len(ticket_page.rows) - 1} of {ticket_page.total} "
            "(latest fault first)"
        )
        frame = ticket_page.to_frame().drop(columns=["id"])
        frame["maintenance"] = frame["maintenance"].map({True: "yes", False: "no"})
        st.dataframe(frame.rename(columns=COLUMN_TITLES), hide_index=True, width="stretch")
    if ticket_page.pages > 1:
        st.session_state[PAGE_KEY] = page_no
        pager, _ = st.columns([1, 3])
        pager.number_input(
            f"Page (of {ticket_page.pages})",
            min_value=1,
            max_value=ticket_page.pages,
            step=1,
            key=PAGE_KEY,
        )

    # --- One ticket ---------------------------------------------------------------------------
    ids_by_ref = {r.ref: r.id for r in ticket_page.rows}
    st.subheader("Ticket detail")
    picked = st.selectbox(
        "Ticket", [NONE, *ids_by_ref], key="svc_detail_ref", help="Tickets on this page"
    )
    detail = None
    if picked and picked != NONE:
        error = None
        try:
            with session_scope(readonly=True) as s:
                detail = queries.get_ticket(s, actor, ids_by_ref[picked])
        except DomainError as e:
            error = e
        if error is not None:
            show_domain_error(error)
    if detail is not None:
        t = detail.ticket
        st.markdown(f"#### {t.ref} · {md_escape(detail.customer_name)} · {t.status}")
        d1, d2, d3 = st.columns(3)
        d1.markdown(
            f"**Installation:** {detail.installation_ref or NONE}"
            + (f" ({detail.installation_status})" if detail.installation_status else "")
            + f"  \n**Lead:** {detail.lead_ref} ({detail.oem_code})"
            + f"  \n**Kind:** {'maintenance' if t.maintenance else 'repair'}"
            + f"  \n**Install level:** {t.install_level or NONE}"
        )
        d2.markdown(
            f"**Contact:** {md_escape(t.contact)} {t.contact_phone or ''}  \n"
            f"**Address:** {md_escape(detail.address)}, {md_escape(detail.city)} "
            f"{detail.pincode}  \n"
            f"**Zone:** {md_escape(detail.zone_name)} ({detail.zone_code})"
        )
        d3.markdown(
            f"**Fault reported:** {t.fault_reported_date.isoformat()}  \n"
            f"**Response:** {NONE if detail.response_days is None else detail.response_days} "
            "days  \n"
            f"**Resolved:** {t.resolved_date.isoformat() if t.resolved_date else NONE}"
            + (f" ({detail.resolution_days} days)" if detail.resolution_days is not None else "")
            + f"  \n**Invoice received / authorised:** "
            f"{t.invoice_received_date or NONE} / {t.invoice_authorised_date or NONE}"
        )
        st.markdown(
            f"**Nature of fault:** {md_escape(t.nature_of_fault)}  \n"
            f"**Equipment:** {md_escape(t.equipment_details) or NONE}  \n"
            f"**Notes:** {md_escape(t.notes) or NONE}"
        )
        if t.status == "cancelled" and t.cancel_reason:
            st.markdown(
                f"**Cancelled:** {local_time(t.cancelled_at) if t.cancelled_at else NONE} · "
                f"{md_escape(t.cancel_reason)}"
            )
        if detail.visits:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "Date": v.visit_date,
                            "Slot": v.time_slot,
                            "Team": v.team_code,
                            "Status": v.status,
                            "Notes": v.notes or "",
                            "Completed": local_time(v.completed_at),
                        }
                        for v in detail.visits
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
        else:
            st.caption("No visit booked yet.")

        live = t.status in LIVE_TICKET_STATUSES
        booked = {
            f"{v.visit_date.isoformat()} {v.time_slot} · {v.team_code}": v.id
            for v in detail.visits
            if v.status == "booked"
        }

        if live and can(actor, "service_ticket.update"):
            with st.expander("Update notes / equipment / nature of fault"):
                with st.form("svc_update_form"):
                    up_nature = st.text_input(
                        "Nature of fault", value=t.nature_of_fault, key="svc_up_nature"
                    )
                    up_equipment = st.text_area(
                        "Equipment details", value=t.equipment_details or "", key="svc_up_equipment"
                    )
                    up_notes = st.text_area("Notes", value=t.notes or "", key="svc_up_notes")
                    up_clicked = st.form_submit_button("Save", key="svc_up_submit")
                if up_clicked:
                    saved = run_command(
                        lambda s: update_ticket(
                            s,
                            actor,
                            ticket_id=t.id,
                            notes=up_notes,
                            equipment_details=up_equipment,
                            nature_of_fault=up_nature,
                        )
                    )
                    if saved is not None:
                        _done(f"Ticket {saved.ref} updated.")

        if live and can(actor, "service_visit.book"):
            with session_scope(readonly=True) as s:
                teams = account_queries.list_teams(s, detail.zone_id)
            team_by_label = {tm.label: tm.id for tm in teams}
            st.markdown("##### Book a visit")
            with st.form("svc_book_form"):
                b1, b2, b3 = st.columns(3)
                book_date = b1.date_input("Visit date", value=today, key="svc_book_date")
                book_slot = b2.selectbox("Time slot", list(time_slots()), key="svc_book_slot")
                book_team = b3.selectbox(
                    "Team", list(team_by_label), index=None, key="svc_book_team"
                )
                book_clicked = st.form_submit_button("Book visit", key="svc_book_submit")
            if book_clicked:
                if book_team is None:
                    st.warning("Choose a team of the customer's zone.")
                else:
                    visit = run_command(
                        lambda s: book_visit(
                            s,
                            actor,
                            ticket_id=t.id,
                            visit_date=book_date,
                            time_slot=book_slot,
                            team_id=team_by_label[book_team],
                        )
                    )
                    if visit is not None:
                        _done(
                            f"Visit booked for {t.ref} on {visit.visit_date.isoformat()} "
                            f"{visit.time_slot} ({book_team})."
                        )

        may_complete = can(actor, "service_visit.complete")
        may_cancel = can(actor, "service_visit.book")
        if booked and (may_complete or may_cancel):
            st.markdown("##### Booked visits")
            with st.form("svc_visit_form"):
                v_pick = st.selectbox("Visit", list(booked), key="svc_visit_pick")
                v_notes = st.text_input(
                    "Notes (work done) or reason for cancelling", key="svc_visit_notes"
                )
                v1, v2 = st.columns(2)
                complete_clicked = v1.form_submit_button(
                    "Complete visit", key="svc_visit_complete", disabled=not may_complete
                )
                cancel_clicked = v2.form_submit_button(
                    "Cancel visit", key="svc_visit_cancel", disabled=not may_cancel
                )
            if complete_clicked and v_pick is not None:
                visit = run_command(
                    lambda s: complete_visit(s, actor, visit_id=booked[v_pick], notes=v_notes)
                )
                if visit is not None:
                    _done(f"Visit of {t.ref} on {visit.visit_date.isoformat()} completed.")
            elif cancel_clicked and v_pick is not None:
                visit = run_command(
                    lambda s: cancel_visit(s, actor, visit_id=booked[v_pick], reason=v_notes)
                )
                if visit is not None:
                    _done(f"Visit of {t.ref} on {visit.visit_date.isoformat()} cancelled.")

        if live and can(actor, "service_ticket.update"):
            st.markdown("##### Resolve")
            with st.form("svc_resolve_form"):
                r1, r2 = st.columns(2)
                res_date = r1.date_input("Resolved on", value=today, key="svc_res_date")
                res_happy = r2.selectbox(
                    "Customer satisfied", list(SATISFACTION), key="svc_res_happy"
                )
                res_clicked = st.form_submit_button("Resolve ticket", key="svc_res_submit")
            if res_clicked:
                resolved = run_command(
                    lambda s: resolve_ticket(
                        s,
                        actor,
                        ticket_id=t.id,
                        resolved_date=res_date,
                        customer_satisfied=SATISFACTION[res_happy],
                    )
                )
                if resolved is not None:
                    _done(f"Ticket {resolved.ref} resolved.")

        if (
            t.status == "resolved"
            and may_close(actor)
            and st.button("Close ticket", key="svc_close")
        ):
            closed = run_command(lambda s: close_ticket(s, actor, ticket_id=t.id))
            if closed is not None:
                _done(f"Ticket {closed.ref} closed.")

        if may_cancel_ticket(actor, t.status):
            st.markdown("##### Cancel ticket")
            with st.form("svc_cancel_ticket_form"):
                ct_reason = st.text_input(
                    "Reason",
                    max_chars=300,
                    key="svc_ct_reason",
                    help="Booked visits are cancelled with the ticket and their slots freed.",
                )
                ct_clicked = st.form_submit_button("Cancel ticket", key="svc_ct_submit")
            if ct_clicked:
                cancelled = run_command(
                    lambda s: cancel_ticket(s, actor, ticket_id=t.id, reason=ct_reason)
                )
                if cancelled is not None:
                    _done(f"Ticket {cancelled.ref} cancelled.")

        if t.status != "cancelled" and can(actor, "service_ticket.invoice"):
            st.markdown("##### Invoice")
            with st.form("svc_invoice_form"):
                i1, i2 = st.columns(2)
                inv_received = i1.date_input(
                    "Invoice received on",
                    value=t.invoice_received_date,
                    key="svc_inv_received",
                )
                inv_authorised = i2.date_input(
                    "Invoice authorised on",
                    value=t.invoice_authorised_date,
                    key="svc_inv_authorised",
                )
                inv_clicked = st.form_submit_button("Save invoice dates", key="svc_inv_submit")
            if inv_clicked:
                saved = run_command(
                    lambda s: record_invoice(
                        s,
                        actor,
                        ticket_id=t.id,
                        received_date=inv_received,
                        authorised_date=inv_authorised,
                    )
                )
                if saved is not None:
                    _done(f"Invoice dates of {saved.ref} saved.")
