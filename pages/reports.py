"""Reports: weekly and monthly OEM reports — list (status, version), details, submit,
acknowledge, download the PDF, and request a compile (queued; the scheduler sidecar compiles).

OEM viewers see only their OEM's submitted reports, read-only. One domain call per action.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pandas as pd
import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import local_time, money, run_command, show_domain_error
from db.types import utcnow
from domain.actor import Actor
from domain.calendar import add_months, local_date, month_start, week_start
from domain.errors import DomainError
from domain.permissions import can
from domain.reporting import queue
from domain.reporting import reports as rep

ALL = "All OEMs"
LABELS = {"weekly": "Weekly", "monthly": "Monthly"}

actor = current_actor()
st.title("Reports")
if not can(actor, "report.read"):
    st.error("Your role cannot read reports.")
    st.stop()

with session_scope(readonly=True) as s:
    oems = rep.visible_oems(s, actor)
oem_ids = {label: oid for oid, label in oems}


def _table(items: list[rep.ReportDTO], kind: str) -> pd.DataFrame:
    rows = []
    for r in items:
        row = {
            "Period": r.period_label,
            "OEM": r.oem_code,
            "Status": r.status,
            "Version": f"v{r.version}",
            "Leads": r.total_leads,
            "Surveys": r.surveys_completed,
            "Installations": r.installations_completed,
            "Packs submitted": r.closure_packs_submitted,
        }
        if kind == "monthly":
            row["Revenue"] = money(r.total_revenue)
            row["SLA %"] = "" if r.sla_compliance_rate is None else f"{r.sla_compliance_rate}"
            row["Avg days"] = (
                ""
                if r.average_installation_time_days is None
                else f"{r.average_installation_time_days}"
            )
        row["Compiled"] = local_time(r.compiled_at)
        row["Submitted"] = local_time(r.submitted_at)
        rows.append(row)
    return pd.DataFrame(rows)


def _detail(kind: str, report_id: uuid.UUID, actor: Actor) -> None:
    key = f"rep_{kind}"
    submit = ack = False
    b1, b2, b3 = st.columns(3)
    if can(actor, "report.submit"):
        submit = b1.button("Submit to OEM", key=f"{key}_submit")
    if can(actor, "report.acknowledge"):
        ack = b2.button("Record OEM acknowledgement", key=f"{key}_ack")
    message = None
    if submit:
        done = run_command(
            lambda s: rep.submit_report(s, actor, report_type=kind, report_id=report_id)
        )
        message = "Submitted to the OEM." if done is not None else None
    elif ack:
        done = run_command(
            lambda s: rep.acknowledge_report(s, actor, report_type=kind, report_id=report_id)
        )
        message = "Acknowledgement recorded." if done is not None else None
    if message:
        st.success(message)
    pdf: tuple[str, bytes] | None = None
    try:
        with session_scope(readonly=True) as s:
            detail = rep.get_report(s, actor, report_type=kind, report_id=report_id)
            try:
                pdf = rep.report_pdf(s, actor, report_type=kind, report_id=report_id)
            except DomainError:
                pdf = None
    except DomainError as e:
        show_domain_error(e)
        return
    r = detail.report
    if pdf is not None:
        b3.download_button(
            "Download PDF", pdf[1], file_name=pdf[0], mime="application/pdf", key=f"{key}_pdf"
        )
    st.caption(f"{r.oem_code} · {r.period_label} · {detail.version_note} · status {r.status}")
    m = st.columns(4)
    m[0].metric("Leads received", r.total_leads)
    m[1].metric("Surveys completed", r.surveys_completed)
    m[2].metric("Installations completed", r.installations_completed)
    m[3].metric("Closure packs submitted", r.closure_packs_submitted)
    if kind == "monthly":
        n = st.columns(3)
        n[0].metric("Total revenue", money(r.total_revenue))
        n[1].metric(
            "SLA compliance",
            "—" if r.sla_compliance_rate is None else f"{r.sla_compliance_rate} %",
        )
        n[2].metric(
            "Avg. installation time",
            "—"
            if r.average_installation_time_days is None
            else f"{r.average_installation_time_days} days",
        )
    zones = r.details.get("zones", [])
    if zones:
        st.markdown("**By zone**")
        zdf = pd.DataFrame(zones)
        if "total_revenue" in zdf.columns:
            zdf["total_revenue"] = [money(v) for v in zdf["total_revenue"]]
        st.dataframe(zdf, hide_index=True, key=f"{key}_zones")
    breaches = r.details.get("sla_breaches", [])
    if kind == "monthly":
        st.markdown(f"**SLA breaches ({len(breaches)})**")
        if breaches:
            st.dataframe(pd.DataFrame(breaches), hide_index=True, key=f"{key}_breaches")
    if detail.versions:
        st.markdown("**Earlier versions**")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Version": f"v{v.version}",
                        "Replaced": local_time(v.replaced_at),
                        "Because": v.reason,
                        "Leads": v.figures.get("total_leads"),
                        "Installations": v.figures.get("installations_completed"),
                    }
                    for v in detail.versions
                ]
            ),
            hide_index=True,
            key=f"{key}_versions",
        )
    if detail.submissions:
        st.markdown("**Submissions**")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Submitted": local_time(x.submitted_at),
                        "By": x.submitted_by,
                        "Acknowledged": local_time(x.acknowledged_at),
                    }
                    for x in detail.submissions
                ]
            ),
            hide_index=True,
            key=f"{key}_subs",
        )


def _request_form(kind: str, actor: Actor) -> None:
    key = f"rep_{kind}_req"
    today = local_date(utcnow())
    default = (
        week_start(today) - timedelta(days=7)
        if kind == "weekly"
        else add_months(month_start(today), -1)
    )
    with st.form(f"{key}_form"):
        st.markdown(f"**Request a {kind} compile** (the scheduler compiles it within a minute)")
        c1, c2 = st.columns(2)
        oem_label = c1.selectbox("OEM", list(oem_ids), key=f"{key}_oem")
        day = c2.date_input(
            "Week (any day of it)" if kind == "weekly" else "Month (any day of it)",
            value=default,
            key=f"{key}_day",
        )
        force = st.checkbox("Recompile even if already submitted", key=f"{key}_force")
        reason = st.text_input("Reason (required to recompile)", key=f"{key}_reason")
        clicked = st.form_submit_button("Queue compile", key=f"{key}_submit")
    if clicked and oem_label is not None:
        start = week_start(day) if kind == "weekly" else month_start(day)
        oem_id = oem_ids[oem_label]
        req = run_command(
            lambda s: queue.request_report(
                s,
                actor,
                report_type=kind,
                oem_id=oem_id,
                period_start=start,
                force=force,
                reason=reason or None,
            )
        )
        if req is not None:
            if req.created:
                st.success(f"Queued: {kind} report {req.oem_code} from {start:%d %b %Y}.")
            else:
                st.info(f"Already queued ({req.status}): {req.oem_code} from {start:%d %b %Y}.")


def _render(kind: str) -> None:
    key = f"rep_{kind}"
    c1, c2 = st.columns(2)
    if actor.role == "oem_viewer":
        oem_filter = None
        c1.text_input("OEM", value=next(iter(oem_ids), ""), disabled=True, key=f"{key}_oemfix")
    else:
        chosen = c1.selectbox("OEM", [ALL, *oem_ids], key=f"{key}_oem")
        oem_filter = oem_ids.get(chosen) if chosen != ALL else None
    today = local_date(utcnow())
    since_default = (
        today - timedelta(weeks=26) if kind == "weekly" else add_months(month_start(today), -12)
    )
    since = c2.date_input("Periods from", value=since_default, key=f"{key}_since")
    if can(actor, "report.compile"):
        _request_form(kind, actor)
    with session_scope(readonly=True) as s:
        items = rep.list_reports(s, actor, report_type=kind, oem_id=oem_filter, period_from=since)
        pending = (
            queue.list_requests(s, actor, statuses=("queued", "running", "failed"), limit=20)
            if can(actor, "report_request.read")
            else []
        )
    pending = [p for p in pending if p.report_type == kind]
    if pending:
        st.markdown("**Compile requests**")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "OEM": p.oem_code,
                        "Period": p.period_start.isoformat(),
                        "Status": p.status,
                        "Attempts": p.attempts,
                        "Requested by": p.requested_by or "scheduler",
                        "Error": p.error or "",
                    }
                    for p in pending
                ]
            ),
            hide_index=True,
            key=f"{key}_pending",
        )
    st.subheader(f"{LABELS[kind]} reports")
    if not items:
        st.info("No reports yet.")
        return
    st.dataframe(_table(items, kind), hide_index=True, key=f"{key}_table")
    labels = {f"{r.oem_code} · {r.period_label} · v{r.version}": r.id for r in items}
    chosen_report = st.selectbox("Report", list(labels), key=f"{key}_pick")
    if chosen_report is not None:
        _detail(kind, labels[chosen_report], actor)


weekly_tab, monthly_tab = st.tabs(["Weekly", "Monthly"])
with weekly_tab:
    _render("weekly")
with monthly_tab:
    _render("monthly")
