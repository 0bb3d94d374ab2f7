"""Surveys: schedule a site survey for a lead awaiting one, browse surveys, and on one survey
record the report, submit it, review it (approve/reject), reschedule or cancel it. Every action
is one domain call in one transaction; roles, team and OEM scope are enforced in the domain.
Survey photos are uploaded on the media page (not here)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import local_time, localise_columns, md_escape, run_command, show_domain_error
from domain.accounts import queries as account_queries
from domain.calendar import local_date
from domain.errors import DomainError
from domain.permissions import can
from domain.scheduling import time_slots
from domain.surveys import queries
from domain.surveys.models import PARKING_TYPES, SITE_TYPES, SURVEY_STATUSES
from domain.surveys.service import (
    ACTIVE_SURVEY_STATUSES,
    add_survey_photo,
    cancel_survey,
    record_survey_report,
    reschedule_survey,
    review_survey,
    schedule_survey,
    submit_survey,
)

ALL = "All"
NONE = "—"
PAGE_SIZE = 50
LINE_INPUTS = 6  # at least this many line inputs; always 2 more than the saved lines
PAGE_KEY = "sv_page"
FLASH_KEY = "sv_flash"
COLUMN_TITLES = {
    "ref": "Ref",
    "lead_ref": "Lead",
    "customer_name": "Customer",
    "oem_code": "OEM",
    "zone_name": "Zone",
    "team_code": "Team",
    "survey_date": "Date",
    "time_slot": "Slot",
    "status": "Status",
    "completed_at": "Completed",
}


def _label(text: str) -> str:
    return text.replace("_", " ")


def _run_action(call: Callable[[Any], Any], message: Callable[[Any], str]) -> None:
    """One domain call in one (retried) transaction; flash its message and rerun, or show the
    error."""
    failed: list[DomainError] = []
    out = run_command(call, on_error=failed.append)
    if failed:
        show_domain_error(failed[0])
        return
    st.session_state[FLASH_KEY] = message(out)
    st.rerun()


actor = current_actor()
st.title("Surveys")
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash)

may_schedule = can(actor, "survey.schedule")
today = local_date(datetime.now(UTC))
slots = list(time_slots())
with session_scope(readonly=True) as s:
    zones = account_queries.list_zones(s, active_only=False)
    all_teams = account_queries.list_teams(s, active_only=False)
    active_teams = account_queries.list_teams(s, active_only=True)
    awaiting = queries.leads_awaiting_survey(s, actor) if may_schedule else ()
zone_by_label = {f"{z.name} ({z.code})": z.id for z in zones}
team_by_label = {t.label: t.id for t in all_teams}

tab_names = (["Schedule"] if may_schedule else []) + ["Surveys"]
tabs = dict(zip(tab_names, st.tabs(tab_names), strict=True))

# --- Schedule -------------------------------------------------------------------------------------
if may_schedule:
    with tabs["Schedule"]:
        if not awaiting:
            st.info("No lead is waiting for a survey.")
        else:
            st.caption(f"{len(awaiting)} open leads without a survey (oldest first).")
            lead_by_label = {lead.label: lead for lead in awaiting}
            picked_lead = st.selectbox(
                "Lead awaiting survey",
                list(lead_by_label),
                index=None,
                placeholder="Choose a lead",
                key="sv_new_lead",
            )
            chosen = lead_by_label.get(picked_lead) if picked_lead else None
            if chosen is not None:
                zone_teams = {t.label: t.id for t in active_teams if t.zone_id == chosen.zone_id}
                if not zone_teams:
                    st.warning(f"No active field team works in {md_escape(chosen.zone_name)}.")
                else:
                    with st.form("sv_schedule_form"):
                        c1, c2, c3 = st.columns(3)
                        new_team = c1.selectbox(
                            f"Team ({md_escape(chosen.zone_name)})",
                            list(zone_teams),
                            key="sv_new_team",
                        )
                        new_date = c2.date_input(
                            "Survey date",
                            value=today + timedelta(days=1),
                            min_value=today,
                            key="sv_new_date",
                        )
                        new_slot = c3.selectbox("Time slot", slots, key="sv_new_slot")
                        schedule_clicked = st.form_submit_button(
                            "Schedule survey", key="sv_new_submit"
                        )
                    if schedule_clicked:
                        _run_action(
                            lambda s: schedule_survey(
                                s,
                                actor,
                                lead_id=chosen.id,
                                team_id=zone_teams[new_team],
                                survey_date=new_date,
                                time_slot=new_slot,
                            ),
                            lambda sv: (
                                f"Survey {sv.ref} scheduled for {chosen.ref} on "
                                f"{sv.survey_date:%d %b %Y} ({sv.time_slot}) with {new_team}."
                            ),
                        )

# --- Surveys --------------------------------------------------------------------------------------
with tabs["Surveys"]:
    with st.form("sv_filters"):
        f1, f2, f3 = st.columns(3)
        f_status = f1.selectbox("Status", [ALL, *SURVEY_STATUSES], key="sv_f_status")
        f_team = f2.selectbox("Team", [ALL, *team_by_label], key="sv_f_team")
        f_zone = f3.selectbox("Zone", [ALL, *zone_by_label], key="sv_f_zone")
        f4, f5 = st.columns(2)
        f_from = f4.date_input("Survey date from", value=None, key="sv_f_from")
        f_to = f5.date_input("Survey date to", value=None, key="sv_f_to")
        if st.form_submit_button("Apply filters", key="sv_f_submit"):
            st.session_state[PAGE_KEY] = 1
    filters = {
        "status": None if f_status == ALL else f_status,
        "team_id": team_by_label.get(f_team) if f_team != ALL else None,
        "zone_id": zone_by_label.get(f_zone) if f_zone != ALL else None,
        "date_from": f_from,
        "date_to": f_to,
    }
    page_no = int(st.session_state.get(PAGE_KEY, 1))
    list_error: DomainError | None = None
    survey_page = None
    try:
        with session_scope(readonly=True) as s:
            survey_page = queries.list_surveys(
                s, actor, page=page_no, page_size=PAGE_SIZE, **filters
            )
            if page_no > survey_page.pages:
                page_no = 1
                survey_page = queries.list_surveys(s, actor, page=1, page_size=PAGE_SIZE, **filters)
    except DomainError as e:
        list_error = e
    if list_error is not None:
        show_domain_error(list_error)
        st.stop()
    assert survey_page is not None

    if survey_page.total == 0:
        st.info("No surveys match these filters.")
    else:
        first = (survey_page.page - 1) * survey_page.page_size + 1
        st.caption(
            f"Surveys {first}–{first + len(survey_page.rows) - 1} of {survey_page.total} "
            "(latest date first)"
        )
        frame = localise_columns(survey_page.to_frame(), ["completed_at"]).drop(columns=["id"])
        st.dataframe(frame.rename(columns=COLUMN_TITLES), hide_index=True, width="stretch")
    if survey_page.pages > 1:
        st.session_state[PAGE_KEY] = page_no
        pager, _ = st.columns([1, 3])
        pager.number_input(
            f"Page (of {survey_page.pages})",
            min_value=1,
            max_value=survey_page.pages,
            step=1,
            key=PAGE_KEY,
        )

    # --- Detail of one survey ---------------------------------------------------------------------
    ids_by_ref = {r.ref: r.id for r in survey_page.rows}
    st.subheader("Survey detail")
    picked = st.selectbox(
        "Survey", [NONE, *ids_by_ref], key="sv_detail_ref", help="Surveys on this page"
    )
    detail = None
    if picked and picked != NONE:
        detail_error: DomainError | None = None
        try:
            with session_scope(readonly=True) as s:
                detail = queries.get_survey(s, actor, ids_by_ref[picked])
                materials = queries.material_options(s)
                chargers = queries.charger_options(s)
        except DomainError as e:
            detail_error = e
        if detail_error is not None:
            show_domain_error(detail_error)

    if detail is not None:
        sv = detail.survey
        st.markdown(f"#### {sv.ref} · {md_escape(detail.customer_name)}")
        d1, d2, d3 = st.columns(3)
        d1.markdown(
            f"**Status:** {_label(sv.status)}  \n"
            f"**Date:** {sv.survey_date:%d %b %Y} ({sv.time_slot})  \n"
            f"**Team:** {detail.team_code or NONE}"
            + (f" ({md_escape(detail.team_name)})" if detail.team_name else "")
        )
        d2.markdown(
            f"**Lead:** {detail.lead_ref} ({_label(detail.lead_status)})  \n"
            f"**OEM:** {detail.oem_code}  \n**Phone:** {detail.phone}  \n"
            f"**Address:** {md_escape(detail.address)}, {md_escape(detail.city)} "
            f"{detail.pincode} ({md_escape(detail.zone_name)})"
        )
        d3.markdown(
            f"**Completed:** {local_time(sv.completed_at) or NONE}  \n"
            f"**Submitted:** {local_time(sv.submitted_at) or NONE}  \n"
            f"**Reviewed:** {local_time(sv.reviewed_at) or NONE}"
            + (f" by {md_escape(detail.reviewer_username)}" if detail.reviewer_username else "")
            + (f"  \n**Notes:** {md_escape(sv.review_notes)}" if sv.review_notes else "")
            + (f"  \n**Cancelled:** {md_escape(sv.cancel_reason)}" if sv.cancel_reason else "")
        )
        report = detail.report
        if report is not None:
            st.markdown("##### Survey report")
            r1, r2, r3 = st.columns(3)
            r1.markdown(
                f"**Site:** {_label(report.site_type)}  \n"
                f"**Parking:** {md_escape(report.parking)}  \n"
                f"**Earthing OK:** {'yes' if report.earthing_ok else 'no'}"
            )
            r2.markdown(
                f"**Meter to charger:** {report.meter_distance_m} m  \n"
                f"**Cable length:** {report.cable_length_m} m  \n"
                f"**Sanctioned load:** {report.sanctioned_load_kw} kW"
            )
            r3.markdown(
                f"**Recommended charger:** {md_escape(report.recommended_charger_name) or NONE}  \n"
                f"**Load enhancement needed:** "
                f"{'yes' if report.load_enhancement_needed else 'no'}"
                + (f"  \n**Notes:** {md_escape(report.notes)}" if report.notes else "")
            )
            if report.lines:
                st.dataframe(
                    report.lines_frame().rename(
                        columns={
                            "sku": "SKU",
                            "material_name": "Material",
                            "unit": "Unit",
                            "quantity": "Quantity",
                        }
                    ),
                    hide_index=True,
                )
            else:
                st.caption("No recommended material lines.")
        else:
            st.caption("No report recorded yet.")

        own_team = actor.role != "field_engineer" or actor.team_id == sv.team_id

        def key(name: str) -> str:
            return f"sv_{name}_{sv.ref}"

        # record / correct the report
        if sv.status in ("scheduled", "completed") and can(actor, "survey.record_report"):
            if not own_team:
                st.caption("This survey belongs to another team.")
            else:
                st.markdown("##### " + ("Correct the report" if report else "Record the report"))
                charger_by_label = {c.label: c.id for c in chargers}
                material_by_label = {m.label: m.id for m in materials}
                label_by_material = {v: k for k, v in material_by_label.items()}
                existing = list(report.lines) if report else []
                with st.form(key("report_form")):
                    c1, c2 = st.columns(2)
                    site = c1.selectbox(
                        "Site type",
                        SITE_TYPES,
                        index=SITE_TYPES.index(report.site_type) if report else 0,
                        format_func=_label,
                        key=key("site"),
                    )
                    parking = c2.selectbox(
                        "Parking",
                        PARKING_TYPES,
                        index=PARKING_TYPES.index(report.parking) if report else 0,
                        key=key("parking"),
                    )
                    distance = c1.number_input(
                        "Meter to charger distance (m)",
                        min_value=0.0,
                        value=float(report.meter_distance_m) if report else 0.0,
                        step=0.5,
                        key=key("distance"),
                    )
                    cable = c2.number_input(
                        "Cable length (m)",
                        min_value=0.0,
                        value=float(report.cable_length_m) if report else 0.0,
                        step=0.5,
                        key=key("cable"),
                    )
                    load = c1.number_input(
                        "Sanctioned load (kW)",
                        min_value=0.0,
                        value=float(report.sanctioned_load_kw) if report else 0.0,
                        step=0.5,
                        key=key("load"),
                    )
                    charger_labels = list(charger_by_label)
                    current_charger = next(
                        (
                            i
                            for i, lbl in enumerate(charger_labels)
                            if report and charger_by_label[lbl] == report.recommended_charger_id
                        ),
                        None,
                    )
                    charger = c2.selectbox(
                        "Recommended charger",
                        charger_labels,
                        index=current_charger,
                        placeholder="Choose a charger",
                        key=key("charger"),
                    )
                    earthing = c1.checkbox(
                        "Earthing OK",
                        value=report.earthing_ok if report else False,
                        key=key("earthing"),
                    )
                    enhancement = c2.checkbox(
                        "Load enhancement needed",
                        value=report.load_enhancement_needed if report else False,
                        key=key("enhancement"),
                    )
                    notes = st.text_area(
                        "Notes", value=(report.notes or "") if report else "", key=key("notes")
                    )
                    st.markdown("Recommended material lines (leave unused lines at —)")
                    material_labels = [NONE, *material_by_label]
                    line_inputs = []
                    for i in range(max(LINE_INPUTS, len(existing) + 2)):
                        old = existing[i] if i < len(existing) else None
                        m_col, q_col = st.columns([3, 1])
                        old_label = label_by_material.get(old.material_id) if old else None
                        mat = m_col.selectbox(
                            f"Material {i + 1}",
                            material_labels,
                            index=material_labels.index(old_label) if old_label else 0,
                            key=key(f"mat{i}"),
                        )
                        qty = q_col.number_input(
                            f"Quantity {i + 1}",
                            min_value=1,
                            value=old.quantity if old else 1,
                            step=1,
                            key=key(f"qty{i}"),
                        )
                        line_inputs.append((mat, qty))
                    report_clicked = st.form_submit_button("Save report", key=key("report_submit"))
                if report_clicked:
                    lines = [
                        (material_by_label[mat], int(qty))
                        for mat, qty in line_inputs
                        if mat and mat != NONE
                    ]
                    _run_action(
                        lambda s: record_survey_report(
                            s,
                            actor,
                            survey_id=sv.id,
                            site_type=site,
                            parking=parking,
                            meter_distance_m=str(distance),
                            sanctioned_load_kw=str(load),
                            earthing_ok=earthing,
                            recommended_charger_id=charger_by_label.get(charger)
                            if charger
                            else None,
                            cable_length_m=str(cable),
                            load_enhancement_needed=enhancement,
                            notes=notes,
                            lines=lines,
                        ),
                        lambda out: f"Report of survey {out.ref} saved ({_label(out.status)}).",
                    )
                with st.form(key("photo_form"), clear_on_submit=True):
                    photo = st.file_uploader(
                        "Site photo (JPEG, PNG, WebP or HEIC, up to 10 MB)",
                        type=["jpg", "jpeg", "png", "webp", "heic"],
                        key=key("photo_file"),
                    )
                    photo_caption = st.text_input("Caption", key=key("photo_caption"))
                    photo_clicked = st.form_submit_button("Add photo", key=key("photo_submit"))
                if photo_clicked and photo is not None:
                    _run_action(
                        lambda s: add_survey_photo(
                            s,
                            actor,
                            survey_id=sv.id,
                            data=photo.getvalue(),
                            filename=photo.name,
                            caption=photo_caption,
                        ),
                        lambda out: f"Photo added to survey {sv.ref}.",
                    )

        # submit
        may_submit = sv.status == "completed" and can(actor, "survey.submit") and own_team
        if may_submit and st.button("Submit for review", key=key("submit"), type="primary"):
            _run_action(
                lambda s: submit_survey(s, actor, survey_id=sv.id),
                lambda out: f"Survey {out.ref} submitted for review.",
            )

        # review
        if sv.status == "submitted" and can(actor, "survey.review"):
            st.markdown("##### Review")
            with st.form(key("review_form")):
                review_notes = st.text_area(
                    "Review notes (required to reject)", key=key("review_notes")
                )
                a_col, r_col = st.columns(2)
                approve_clicked = a_col.form_submit_button("Approve", key=key("approve"))
                reject_clicked = r_col.form_submit_button("Reject", key=key("reject"))
            if approve_clicked or reject_clicked:
                _run_action(
                    lambda s: review_survey(
                        s, actor, survey_id=sv.id, approve=approve_clicked, notes=review_notes
                    ),
                    lambda out: f"Survey {out.ref} {_label(out.status)}.",
                )

        # reschedule
        if sv.status == "scheduled" and can(actor, "survey.schedule"):
            zone_teams = {t.label: t.id for t in active_teams if t.zone_id == detail.zone_id}
            if zone_teams:
                with st.expander("Reschedule"), st.form(key("reschedule_form")):
                    team_labels = list(zone_teams)
                    current_team = next(
                        (i for i, lbl in enumerate(team_labels) if zone_teams[lbl] == sv.team_id),
                        0,
                    )
                    c1, c2, c3 = st.columns(3)
                    rs_team = c1.selectbox(
                        "Team", team_labels, index=current_team, key=key("rs_team")
                    )
                    rs_date = c2.date_input(
                        "Survey date",
                        value=max(sv.survey_date, today),
                        min_value=today,
                        key=key("rs_date"),
                    )
                    rs_slot = c3.selectbox(
                        "Time slot",
                        slots,
                        index=slots.index(sv.time_slot) if sv.time_slot in slots else 0,
                        key=key("rs_slot"),
                    )
                    rs_reason = st.text_input("Reason (optional)", key=key("rs_reason"))
                    rs_clicked = st.form_submit_button("Reschedule", key=key("rs_submit"))
                if rs_clicked:
                    _run_action(
                        lambda s: reschedule_survey(
                            s,
                            actor,
                            survey_id=sv.id,
                            team_id=zone_teams[rs_team],
                            survey_date=rs_date,
                            time_slot=rs_slot,
                            reason=rs_reason,
                        ),
                        lambda out: (
                            f"Survey {out.ref} moved to {out.survey_date:%d %b %Y} "
                            f"({out.time_slot})."
                        ),
                    )

        # cancel
        if sv.status in ACTIVE_SURVEY_STATUSES and can(actor, "survey.cancel"):
            with st.expander("Cancel survey"), st.form(key("cancel_form")):
                cancel_reason = st.text_input("Reason for cancelling", key=key("cancel_reason"))
                cancel_clicked = st.form_submit_button("Cancel survey", key=key("cancel_submit"))
            if cancel_clicked:
                _run_action(
                    lambda s: cancel_survey(s, actor, survey_id=sv.id, reason=cancel_reason),
                    lambda out: f"Survey {out.ref} cancelled; the lead is back to contacted.",
                )
