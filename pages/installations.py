"""Installations: filter and page through installations, open one to see its customer, teams,
report, media and timeline, and act on it by state and permission (lifecycle buttons,
reschedule / cancel with a reason, confirmation call, demo, team booking); planners create an
installation from an approved survey. Every action is one domain call in one transaction; an
oem_viewer sees only its own OEM and a field engineer only their team's jobs (enforced in the
domain queries and commands)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import local_time, localise_columns, md_escape, run_command, show_domain_error
from domain.accounts import queries as account_queries
from domain.errors import DomainError
from domain.installations import queries, reports, scheduling
from domain.installations import service as inst_service
from domain.installations.models import INSTALLATION_STATUSES
from domain.leads.queries import list_oems_for
from domain.permissions import can
from domain.scheduling import time_slots

ALL = "All"
NONE = "—"
PAGE_SIZE = 50
PAGE_KEY = "inst_page"
FLASH_KEY = "inst_flash"
COLUMN_TITLES = {
    "ref": "Ref",
    "status": "Status",
    "scheduled_date": "Date",
    "time_slot": "Slot",
    "lead_ref": "Lead",
    "customer_name": "Customer",
    "city": "City",
    "oem_code": "OEM",
    "zone_name": "Zone",
    "team_code": "Team",
    "material_ready": "Material ready",
    "customer_confirmed": "Customer confirmed",
    "completed_at": "Completed",
}
TIMELINE_TITLES = {
    "at": "When",
    "kind": "Event",
    "from_status": "From",
    "to_status": "To",
    "outcome": "Call outcome",
    "by": "By",
    "note": "Reason / notes",
}
BUTTON_LABELS = {
    "material_pending": "Mark material pending",
    "material_ready": "Mark material ready",
    "confirmed": "Confirm job",
    "in_progress": "Start work",
    "completed": "Mark completed",
    "report_submitted": "Mark report submitted",
    "closed": "Close installation",
}
FORM_TARGETS = ("rescheduled", "cancelled", "planned")

actor = current_actor()
st.title("Installations")
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash)


def run(command: Callable[..., Any], success: Callable[[Any], str], **kwargs: Any) -> None:
    """One command in one (retried) transaction; flash its success and rerun, or show the
    error."""
    failed: list[DomainError] = []
    result = run_command(lambda s: command(s, actor, **kwargs), on_error=failed.append)
    if failed:
        show_domain_error(failed[0])
        return
    st.session_state[FLASH_KEY] = success(result)
    st.rerun()


with session_scope(readonly=True) as s:
    oems = list_oems_for(s, actor)
    zones = account_queries.list_zones(s, active_only=False)
    teams = account_queries.list_teams(s, active_only=False)
oem_by_label = {f"{o.name} ({o.code})": o.id for o in oems}
zone_by_label = {f"{z.name} ({z.code})": z.id for z in zones}
team_by_label = {t.label: t.id for t in teams}
slots = list(time_slots())

may_create = can(actor, "installation.create")
tab_names = ["Browse", *(["Create from approved survey"] if may_create else [])]
tabs = dict(zip(tab_names, st.tabs(tab_names), strict=True))

# --- Create from an approved survey ------------------------------------------------------------
if may_create:
    with tabs["Create from approved survey"]:
        with session_scope(readonly=True) as s:
            approved = queries.list_approved_surveys_without_installation(s, actor)
        if not approved:
            st.info("No approved survey is waiting for an installation.")
        else:
            survey_by_label = {
                f"{a.survey_ref} · {a.lead_ref} · {a.customer_name}, {a.city} ({a.oem_code})": (
                    a.survey_id
                )
                for a in approved
            }
            st.caption(f"{len(approved)} approved survey(s) without an installation.")
            with st.form("inst_create_form"):
                pick = st.selectbox("Approved survey", list(survey_by_label), key="inst_new_survey")
                c1, c2 = st.columns(2)
                new_date = c1.date_input("Date (optional)", value=None, key="inst_new_date")
                new_slot = c2.selectbox("Time slot", [NONE, *slots], key="inst_new_slot")
                create_clicked = st.form_submit_button(
                    "Create installation", key="inst_create_submit"
                )
            if create_clicked and pick is not None:
                run(
                    inst_service.create_installation,
                    lambda dto: f"Installation {dto.ref} created ({dto.status}).",
                    survey_id=survey_by_label[pick],
                    scheduled_date=new_date,
                    time_slot=None if new_slot == NONE else new_slot,
                )

# --- Browse ------------------------------------------------------------------------------------
with tabs["Browse"]:
    with st.form("inst_filters"):
        f1, f2, f3, f4 = st.columns(4)
        f_status = f1.selectbox("Status", [ALL, *INSTALLATION_STATUSES], key="inst_f_status")
        oem_options = list(oem_by_label) if actor.role == "oem_viewer" else [ALL, *oem_by_label]
        f_oem = f2.selectbox("OEM", oem_options, key="inst_f_oem")
        f_zone = f3.selectbox("Zone", [ALL, *zone_by_label], key="inst_f_zone")
        f_team = f4.selectbox("Team", [ALL, *team_by_label], key="inst_f_team")
        f5, f6, f7 = st.columns(3)
        f_search = f5.text_input("Search (ref, lead, customer, phone, city)", key="inst_f_search")
        f_from = f6.date_input("Scheduled from", value=None, key="inst_f_from")
        f_to = f7.date_input("Scheduled to", value=None, key="inst_f_to")
        if st.form_submit_button("Apply filters", key="inst_f_submit"):
            st.session_state[PAGE_KEY] = 1

    filters = {
        "status": None if f_status == ALL else f_status,
        "oem_id": oem_by_label.get(f_oem) if f_oem and f_oem != ALL else None,
        "zone_id": zone_by_label.get(f_zone) if f_zone != ALL else None,
        "team_id": team_by_label.get(f_team) if f_team != ALL else None,
        "search": f_search or None,
        "date_from": f_from,
        "date_to": f_to,
    }
    page_no = int(st.session_state.get(PAGE_KEY, 1))
    error: DomainError | None = None
    inst_page = None
    try:
        with session_scope(readonly=True) as s:
            inst_page = queries.list_installations(
                s, actor, page=page_no, page_size=PAGE_SIZE, **filters
            )
            if page_no > inst_page.pages:
                page_no = 1
                inst_page = queries.list_installations(
                    s, actor, page=1, page_size=PAGE_SIZE, **filters
                )
    except DomainError as e:
        error = e
    if error is not None:
        show_domain_error(error)
        st.stop()
    assert inst_page is not None

    if inst_page.total == 0:
        st.info("No installations match these filters.")
    else:
        first = (inst_page.page - 1) * inst_page.page_size + 1
        st.caption(
            f"Installations {first}–{first + len(inst_page.rows) - 1} of {inst_page.total} "
            "(latest scheduled first)"
        )
        frame = localise_columns(inst_page.to_frame(), ["completed_at"]).drop(columns=["id"])
        st.dataframe(frame.rename(columns=COLUMN_TITLES), hide_index=True, width="stretch")
    if inst_page.pages > 1:
        st.session_state[PAGE_KEY] = page_no
        pager, _ = st.columns([1, 3])
        pager.number_input(
            f"Page (of {inst_page.pages})",
            min_value=1,
            max_value=inst_page.pages,
            step=1,
            key=PAGE_KEY,
        )

    # --- Detail of one installation ------------------------------------------------------------
    ids_by_ref = {r.ref: r.id for r in inst_page.rows}
    st.subheader("Installation detail")
    picked = st.selectbox(
        "Installation", [NONE, *ids_by_ref], key="inst_detail_ref", help="Installations listed"
    )
    detail = None
    media: list[reports.MediaDTO] = []
    if picked and picked != NONE:
        error = None
        try:
            with session_scope(readonly=True) as s:
                detail = queries.get_installation(s, actor, ids_by_ref[picked])
                media = reports.list_media(s, actor, ids_by_ref[picked])
        except DomainError as e:
            error = e
        if error is not None:
            show_domain_error(error)
    if detail is not None:
        inst = detail.installation
        iid = inst.id
        st.markdown(f"#### {inst.ref} · {md_escape(detail.customer_name)} · {inst.status}")
        d1, d2, d3 = st.columns(3)
        d1.markdown(
            f"**Lead:** {detail.lead_ref} ({detail.lead_status})  \n"
            f"**OEM:** {md_escape(detail.oem_name)} ({detail.oem_code})  \n"
            f"**Survey:** {detail.survey_ref} on {detail.survey_date:%d %b %Y}"
        )
        d2.markdown(
            f"**Phone:** {detail.phone}  \n"
            f"**Address:** {md_escape(detail.address)}, {md_escape(detail.city)} "
            f"{detail.pincode}  \n"
            f"**Zone:** {md_escape(detail.zone_name)}"
        )
        when = (
            f"{inst.scheduled_date:%d %b %Y} {inst.time_slot or ''}".strip()
            if inst.scheduled_date
            else "not scheduled"
        )
        d3.markdown(
            f"**Scheduled:** {when}  \n"
            f"**Completed:** {local_time(inst.completed_at) or NONE}  \n"
            f"**Closed:** {local_time(inst.closed_at) or NONE}"
            + (
                f"  \n**Cancel reason:** {md_escape(inst.cancel_reason)}"
                if inst.cancel_reason
                else ""
            )
            + (
                f"  \n**Reschedule reason:** {md_escape(inst.reschedule_reason)}"
                if inst.reschedule_reason
                else ""
            )
        )
        m1, m2, m3 = st.columns(3)
        m1.metric("Material ready", "yes" if inst.material_ready else "no")
        m2.metric(
            "Customer confirmed",
            f"yes ({local_time(inst.confirmed_at)})" if inst.customer_confirmed else "no",
        )
        m3.metric("Demo done", "yes" if inst.demo_completed else "no")

        st.markdown("**Teams**")
        if detail.assignments:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "team": a.team_code,
                            "role": a.role,
                            "date": a.work_date,
                            "slot": a.time_slot,
                            "assigned": local_time(a.assigned_at),
                            "released": local_time(a.released_at),
                            "reason": a.reason,
                        }
                        for a in detail.assignments
                    ]
                ),
                hide_index=True,
                key="inst_assignments",
            )
        else:
            st.caption("No team booked yet.")

        st.markdown("**Installation report**")
        if detail.report is not None:
            r = detail.report
            st.markdown(
                f"Charger **{md_escape(r.charger_model)}**, "
                f"serial **{md_escape(r.charger_serial)}** · "
                f"{'successful' if r.success else 'not successful'} · "
                f"demo {'done' if r.demo_done else 'not done'}"
                f"{' and signed off' if r.demo_signed_off else ''} · "
                f"signature {'attached' if r.has_signature else 'missing (recommended)'}"
                + (f"  \nIssues: {md_escape(r.issues)}" if r.issues else "")
            )
        else:
            st.caption("No installation report yet.")

        if media:
            st.markdown(f"**Media ({len(media)})**")
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "kind": m.kind,
                            "caption": m.caption,
                            "type": m.content_type,
                            "size (KB)": round(m.size_bytes / 1024, 1),
                            "uploaded": local_time(m.created_at),
                        }
                        for m in media
                    ]
                ),
                hide_index=True,
                key="inst_media",
            )

        st.markdown("**Timeline**")
        timeline = localise_columns(detail.timeline_frame(), ["at"]).rename(columns=TIMELINE_TITLES)
        st.dataframe(timeline, hide_index=True, width="stretch", key="inst_timeline")

        # --- Actions -----------------------------------------------------------------------
        allowed = detail.allowed_actions
        buttons = [t for t in allowed if t in BUTTON_LABELS]
        if allowed or detail.blocked_actions:
            st.markdown("**Actions**")
        if buttons:
            cols = st.columns(len(buttons))
            for col, target in zip(cols, buttons, strict=True):
                if col.button(BUTTON_LABELS[target], key=f"inst_to_{target}"):
                    run(
                        inst_service.transition,
                        lambda dto: f"{dto.ref} is now {dto.status}.",
                        installation_id=iid,
                        to_status=target,
                    )
        for target, message in detail.blocked_actions:
            st.caption(f"⛔ {BUTTON_LABELS.get(target, target)}: {message}")

        if "demo" in allowed:
            label = "Undo demo done" if inst.demo_completed else "Mark demo done"
            if st.button(label, key="inst_demo"):
                run(
                    inst_service.set_demo_completed,
                    lambda dto: (
                        f"Demo of {dto.ref} marked {'done' if dto.demo_completed else 'not done'}."
                    ),
                    installation_id=iid,
                    done=not inst.demo_completed,
                )

        if "confirmation_call" in allowed:
            with st.form("inst_call_form"):
                st.markdown("Customer confirmation call")
                outcome = st.radio(
                    "Outcome",
                    list(inst_service.CONFIRMATION_OUTCOMES),
                    horizontal=True,
                    key="inst_call_outcome",
                )
                notes = st.text_input("Notes", key="inst_call_notes")
                call_clicked = st.form_submit_button("Record call", key="inst_call_submit")
            if call_clicked:
                run(
                    inst_service.record_customer_confirmation,
                    lambda dto: (
                        f"Call recorded for {dto.ref}; customer confirmed: "
                        f"{'yes' if dto.customer_confirmed else 'no'}."
                    ),
                    installation_id=iid,
                    outcome=outcome,
                    notes=notes,
                )

        if "planned" in allowed:
            with st.form("inst_replan_form"):
                st.markdown("Back to planned with a new date")
                p1, p2 = st.columns(2)
                replan_date = p1.date_input(
                    "New date (keep the booked one if empty)", value=None, key="inst_replan_date"
                )
                replan_slot = p2.selectbox("New slot", [NONE, *slots], key="inst_replan_slot")
                replan_clicked = st.form_submit_button("Back to planned", key="inst_replan_submit")
            if replan_clicked:
                run(
                    inst_service.transition,
                    lambda dto: f"{dto.ref} is planned again for {dto.scheduled_date}.",
                    installation_id=iid,
                    to_status="planned",
                    new_date=replan_date,
                    new_slot=None if replan_slot == NONE else replan_slot,
                )

        if "rescheduled" in allowed:
            with st.form("inst_reschedule_form"):
                st.markdown("Reschedule (the booked team is released)")
                reason = st.text_input("Reason", key="inst_resched_reason")
                r1, r2 = st.columns(2)
                resched_date = r1.date_input(
                    "New date (optional)", value=None, key="inst_resched_date"
                )
                resched_slot = r2.selectbox("New slot", [NONE, *slots], key="inst_resched_slot")
                resched_clicked = st.form_submit_button("Reschedule", key="inst_resched_submit")
            if resched_clicked:
                run(
                    inst_service.reschedule,
                    lambda dto: f"{dto.ref} rescheduled; now {dto.status}.",
                    installation_id=iid,
                    reason=reason,
                    new_date=resched_date,
                    new_slot=None if resched_slot == NONE else resched_slot,
                )

        if "cancelled" in allowed:
            with st.form("inst_cancel_form"):
                st.markdown("Cancel the installation")
                cancel_reason = st.text_input("Reason for cancelling", key="inst_cancel_reason")
                cancel_clicked = st.form_submit_button(
                    "Cancel installation", key="inst_cancel_submit"
                )
            if cancel_clicked:
                run(
                    inst_service.cancel,
                    lambda dto: f"{dto.ref} cancelled.",
                    installation_id=iid,
                    reason=cancel_reason,
                )

        if (
            can(actor, scheduling.ASSIGN_PERMISSION)
            and inst.status in scheduling.BOOKABLE_STATUSES
            and inst.scheduled_date is not None
            and inst.time_slot is not None
        ):
            suggestions: list[scheduling.TeamSuggestion] = []
            error = None
            try:
                with session_scope(readonly=True) as s:
                    suggestions = scheduling.suggest_teams(
                        s,
                        actor,
                        installation_id=iid,
                        work_date=inst.scheduled_date,
                        time_slot=inst.time_slot,
                    )
            except DomainError as e:
                error = e
            if error is not None:
                show_domain_error(error)
            elif suggestions:
                team_choice = {sug.label: sug for sug in suggestions}
                with st.form("inst_book_form"):
                    st.markdown(f"Book a team for {inst.scheduled_date:%d %b %Y} {inst.time_slot}")
                    chosen = st.selectbox(
                        "Feasible teams (best first)", list(team_choice), key="inst_book_team"
                    )
                    book_clicked = st.form_submit_button("Book team", key="inst_book_submit")
                if book_clicked and chosen is not None:
                    sug = team_choice[chosen]
                    run(
                        scheduling.book,
                        lambda a: f"{a.team_code} booked on {a.installation_ref}.",
                        installation_id=iid,
                        work_date=inst.scheduled_date,
                        time_slot=inst.time_slot,
                        team_id=sug.team_id,
                        allow_mismatch=not sug.eligible,
                    )
            else:
                st.caption("No team is free in this slot; pick another date on the dispatch board.")
