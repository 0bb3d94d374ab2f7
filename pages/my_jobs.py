"""My jobs: a field team's installations (today and upcoming), the installation report, photo
and video uploads with a gallery, and the team's daily log. Field engineers see their own
team's jobs only (enforced in the domain); admin and central ops pick a team."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import local_time, md_escape, run_command, show_domain_error
from domain.accounts import queries as account_queries
from domain.errors import DomainError
from domain.installations.daily_log import list_daily_logs, record_daily_log
from domain.installations.models import DAY_TYPES
from domain.installations.my_jobs import MY_JOBS_ROLES, local_today, my_jobs
from domain.installations.reports import (
    add_installation_media,
    get_report,
    list_charger_models,
    list_media,
    submit_installation_report,
)
from domain.media import absolute_path
from domain.permissions import can

NONE = "—"
FLASH_KEY = "myjobs_flash"
ROUND_KEY = "myjobs_signature_round"
IMAGE_UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "heic"]
MEDIA_UPLOAD_TYPES = {
    "photo": IMAGE_UPLOAD_TYPES,
    "video": ["mp4", "mov", "webm"],
    "document": ["pdf", *IMAGE_UPLOAD_TYPES],
}
BROWSER_IMAGES = ("image/jpeg", "image/png", "image/webp")
DAY_TYPE_LABELS = {
    "productive": "Productive",
    "non_productive": "Non-productive",
    "holiday": "Holiday",
}

actor = current_actor()
st.title("My jobs")
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash)

if actor.role not in MY_JOBS_ROLES:
    st.info("This page lists field teams' jobs; your role has none.")
    st.stop()

may_act = can(actor, "installation.transition")
today = local_today()

# --- Which team ---------------------------------------------------------------------------
if actor.role == "field_engineer":
    team_id = actor.team_id
    if team_id is None:
        st.info("You are not in a field team yet; ask an admin to add you to one.")
        st.stop()
else:
    with session_scope(readonly=True) as s:
        teams = account_queries.list_teams(s)
    if not teams:
        st.info("There are no field teams yet.")
        st.stop()
    team_by_label = {t.label: t.id for t in teams}
    picked_team = st.selectbox("Team", list(team_by_label), key="myjobs_team")
    team_id = team_by_label[picked_team]

f1, f2 = st.columns(2)
date_from = f1.date_input("From", value=today, key="myjobs_from")
date_to = f2.date_input("To", value=today + timedelta(days=14), key="myjobs_to")

jobs = []
error: DomainError | None = None
try:
    with session_scope(readonly=True) as s:
        jobs = my_jobs(s, actor, date_from=date_from, date_to=date_to, team_id=team_id)
except DomainError as e:
    error = e
if error is not None:
    show_domain_error(error)
    st.stop()

m1, m2, m3 = st.columns(3)
m1.metric("Today", sum(1 for j in jobs if j.work_date == today))
m2.metric("Upcoming", sum(1 for j in jobs if j.work_date > today))
m3.metric("Reports to write", sum(1 for j in jobs if not j.has_report and j.work_date <= today))

if not jobs:
    st.info("No jobs in this period.")
else:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Date": j.work_date.strftime("%a %d %b %Y"),
                    "Slot": j.time_slot,
                    "Installation": j.ref,
                    "Customer": j.customer_name,
                    "Phone": j.phone,
                    "Address": j.full_address,
                    "Status": j.status.replace("_", " "),
                    "Report": "yes" if j.has_report else "no",
                    "Role": j.assignment_role.replace("_", " "),
                }
                for j in jobs
            ]
        ),
        hide_index=True,
        width="stretch",
    )

# --- One job --------------------------------------------------------------------------------
job_by_label = {f"{j.ref} · {j.work_date:%d %b} {j.time_slot} · {j.customer_name}": j for j in jobs}
picked = st.selectbox("Open a job", [NONE, *job_by_label], key="myjobs_job")
job = job_by_label.get(picked) if picked and picked != NONE else None

if job is not None:
    st.markdown(f"#### {job.ref} · {md_escape(job.customer_name)}")
    d1, d2 = st.columns(2)
    d1.markdown(
        f"**Phone:** {job.phone}  \n**Address:** {md_escape(job.full_address)}  \n"
        f"**Lead:** {job.lead_ref}"
    )
    d2.markdown(
        f"**Date:** {job.work_date:%a %d %b %Y}, slot {job.time_slot}  \n"
        f"**Status:** {job.status.replace('_', ' ')}  \n"
        f"**Team role:** {job.assignment_role.replace('_', ' ')}"
    )
    tab_report, tab_media = st.tabs(["Installation report", "Photos & videos"])

    with tab_report:
        report = None
        models = []
        error = None
        try:
            with session_scope(readonly=True) as s:
                report = get_report(s, actor, job.installation_id)
                models = list_charger_models(s)
        except DomainError as e:
            error = e
        if error is not None:
            show_domain_error(error)
        if report is not None:
            st.markdown(
                f"**Report recorded** {local_time(report.submitted_at)}: serial "
                f"**{md_escape(report.charger_serial)}**, {md_escape(report.charger_model_name)}, "
                f"{'successful' if report.success else 'not successful'}, demo "
                f"{'done' if report.demo_done else 'not done'}"
                f"{' and signed off' if report.demo_signed_off else ''}."
            )
            for w in report.warnings:
                st.warning(w)
        upload_round = int(st.session_state.get(ROUND_KEY, 0))
        model_by_label = {m.label: m.id for m in models}
        model_labels = list(model_by_label)
        current_model = next(
            (
                lbl
                for lbl, mid in model_by_label.items()
                if report and mid == report.charger_model_id
            ),
            None,
        )
        if not may_act:
            st.caption("Your role may not record installation reports.")
        elif not models:
            st.warning("The material catalogue has no charger models yet.")
        else:
            with st.form("myjobs_report_form"):
                r1, r2 = st.columns(2)
                serial = r1.text_input(
                    "Charger serial number",
                    value=report.charger_serial if report else "",
                    key=f"myjobs_serial_{job.installation_id}",
                )
                model_label = r2.selectbox(
                    "Charger model",
                    model_labels,
                    index=model_labels.index(current_model) if current_model else None,
                    placeholder="Choose the installed charger",
                    key=f"myjobs_model_{job.installation_id}",
                )
                success = st.checkbox(
                    "Installation successful",
                    value=report.success if report else True,
                    key=f"myjobs_success_{job.installation_id}",
                )
                issues = st.text_area(
                    "Issues encountered (required if not successful)",
                    value=(report.issues or "") if report else "",
                    key=f"myjobs_issues_{job.installation_id}",
                )
                c1, c2 = st.columns(2)
                demo_done = c1.checkbox(
                    "Demo done",
                    value=report.demo_done if report else False,
                    key=f"myjobs_demo_{job.installation_id}",
                )
                demo_signed = c2.checkbox(
                    "Demo signed off by the customer",
                    value=report.demo_signed_off if report else False,
                    key=f"myjobs_demo_signed_{job.installation_id}",
                )
                signature = st.file_uploader(
                    "Customer signature (photo or image; recommended)",
                    type=IMAGE_UPLOAD_TYPES,
                    # a new key after each save empties the uploader (no second upload by mistake)
                    key=f"myjobs_signature_{job.installation_id}_{upload_round}",
                )
                report_clicked = st.form_submit_button(
                    "Save installation report", key="myjobs_report_submit"
                )
            if report_clicked:
                report = {
                    "installation_id": job.installation_id,
                    "charger_serial": serial,
                    "charger_model_id": model_by_label.get(model_label or ""),
                    "success": success,
                    "issues": issues,
                    "demo_done": demo_done,
                    "demo_signed_off": demo_signed,
                    "signature": signature.getvalue() if signature is not None else None,
                    "signature_name": signature.name if signature is not None else None,
                }
                saved = run_command(lambda s: submit_installation_report(s, actor, **report))
                if saved is not None:
                    st.session_state[FLASH_KEY] = (
                        f"Installation report for {saved.installation_ref} saved "
                        f"(serial {saved.charger_serial})."
                    )
                    st.session_state[ROUND_KEY] = upload_round + 1
                    st.rerun()

    with tab_media:
        if may_act:
            with st.form("myjobs_media_form", clear_on_submit=True):
                kind = st.selectbox("Kind", list(MEDIA_UPLOAD_TYPES), key="myjobs_media_kind")
                upload = st.file_uploader(
                    "File (photo ≤ 10 MB, video ≤ 200 MB, document ≤ 20 MB)",
                    type=sorted({t for ts in MEDIA_UPLOAD_TYPES.values() for t in ts}),
                    key="myjobs_media_file",
                )
                caption = st.text_input("Caption (optional)", key="myjobs_media_caption")
                media_clicked = st.form_submit_button("Upload", key="myjobs_media_submit")
            if media_clicked:
                if upload is None:
                    st.warning("Choose a file first.")
                else:
                    media = {
                        "installation_id": job.installation_id,
                        "data": upload.getvalue(),
                        "filename": upload.name,
                        "kind": kind,
                        "caption": caption,
                    }
                    added = run_command(lambda s: add_installation_media(s, actor, **media))
                    if added is not None:
                        st.success(
                            f"{added.kind.capitalize()} uploaded ({added.size_bytes:,} bytes)."
                        )
        gallery = []
        error = None
        try:
            with session_scope(readonly=True) as s:
                gallery = list_media(s, actor, job.installation_id)
        except DomainError as e:
            error = e
        if error is not None:
            show_domain_error(error)
        if not gallery:
            st.caption("No photos, videos or documents yet.")
        else:
            st.caption(f"{len(gallery)} file(s)")
            cols = st.columns(3)
            for i, m in enumerate(gallery):
                col = cols[i % 3]
                label = f"{m.kind}: {md_escape(m.caption)} · {local_time(m.created_at)}"
                error = None
                try:
                    path = absolute_path(m.file_path)
                except DomainError as e:
                    error = e
                    path = None
                if path is None or not path.is_file():
                    col.caption(f"{label} (file missing)")
                elif m.content_type in BROWSER_IMAGES:
                    col.image(str(path), caption=label)
                elif m.content_type.startswith("video/"):
                    col.video(str(path))
                    col.caption(label)
                else:
                    col.caption(f"{label} ({m.content_type}, {m.size_bytes:,} bytes)")

# --- Team daily log ---------------------------------------------------------------------------
st.subheader("Team daily log")
if may_act:
    with st.form("myjobs_log_form"):
        l1, l2, l3 = st.columns(3)
        log_date = l1.date_input("Date", value=today, max_value=today, key="myjobs_log_date")
        day_type = l2.selectbox(
            "Day", list(DAY_TYPES), format_func=DAY_TYPE_LABELS.get, key="myjobs_log_day_type"
        )
        jobs_done = l3.number_input(
            "Jobs done", min_value=0, max_value=50, value=0, step=1, key="myjobs_log_jobs"
        )
        notes = st.text_area("Notes", key="myjobs_log_notes")
        log_clicked = st.form_submit_button("Save daily log", key="myjobs_log_submit")
    if log_clicked:
        daily_log = {
            "team_id": team_id,
            "log_date": log_date,
            "day_type": day_type,
            "jobs_done": int(jobs_done),
            "notes": notes,
        }
        logged = run_command(lambda s: record_daily_log(s, actor, **daily_log))
        if logged is not None:
            st.success(f"Daily log for {logged.log_date:%d %b %Y} saved.")

logs = []
error = None
try:
    with session_scope(readonly=True) as s:
        logs = list_daily_logs(s, actor, team_id=team_id, date_to=today)
except DomainError as e:
    error = e
if error is not None:
    show_domain_error(error)
elif not logs:
    st.caption("No daily log in the last 30 days.")
else:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Date": r.log_date.strftime("%a %d %b %Y"),
                    "Day": DAY_TYPE_LABELS.get(r.day_type, r.day_type),
                    "Jobs done": r.jobs_done,
                    "Notes": r.notes or "",
                }
                for r in logs
            ]
        ),
        hide_index=True,
        width="stretch",
    )
