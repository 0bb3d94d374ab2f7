"""Scheduler (admin): the sidecar's leader lease, its job_run history (status, duration,
message) and the report compile queue; "Run now" queues report compiles for the sidecar
(the app never runs a scheduler)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import local_time, localise_columns, md_escape, run_command
from db.types import utcnow
from domain.calendar import local_date
from domain.jobs.queries import current_lease, recent_job_runs
from domain.permissions import can
from domain.reporting import queue
from domain.reporting import reports as rep

actor = current_actor()
st.title("Scheduler")
if not can(actor, "job_run.read"):
    st.error("Only administrators can see the scheduler.")
    st.stop()

st.subheader("Run report jobs now")
with st.form("sched_run_form"):
    c1, c2 = st.columns(2)
    kind = c1.selectbox("Job", ["weekly", "monthly"], key="sched_run_kind")
    c2.caption("Queues the last ended period's report for every OEM; the sidecar compiles it.")
    run_now = st.form_submit_button("Run now (queue)", key="sched_run_submit")
if run_now:
    today = local_date(utcnow())
    period = queue.last_due_period(kind, today)
    made = run_command(
        lambda s: [
            queue.request_report(s, actor, report_type=kind, oem_id=oem_id, period_start=period)
            for oem_id, _label in rep.visible_oems(s, actor)
        ]
    )
    if made is not None:
        new = sum(1 for r in made if r.created)
        st.success(
            f"Queued {new} {kind} report(s) for {period:%d %b %Y}"
            f" ({len(made) - new} already pending)."
        )

with session_scope(readonly=True) as s:
    lease = current_lease(s, actor)
    runs = recent_job_runs(s, actor, limit=200)
    requests = queue.list_requests(s, actor, limit=200)

st.subheader("Leader")
if lease is None:
    st.info("No sidecar has run yet.")
else:
    held = lease.is_held(utcnow())
    st.write(
        f"**{md_escape(lease.holder)}** · {'holds' if held else 'held'} the lease until "
        f"{local_time(lease.expires_at, '%d %b %Y %H:%M:%S')} · fencing token "
        f"{lease.fencing_token}"
    )

st.subheader("Report queue")
if requests:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Type": r.report_type,
                    "OEM": r.oem_code,
                    "Period": r.period_start.isoformat(),
                    "Status": r.status,
                    "Attempts": r.attempts,
                    "Force": r.force,
                    "Requested by": r.requested_by or "scheduler",
                    "Queued": local_time(r.created_at),
                    "Finished": local_time(r.finished_at),
                    "Error": r.error or "",
                }
                for r in requests
            ]
        ),
        hide_index=True,
    )
else:
    st.info("The report queue is empty.")

st.subheader("Job runs")
if runs.empty:
    st.info("No job has run yet.")
else:
    f1, _ = st.columns([1, 3])
    names = ["All", *sorted(runs["job_name"].unique())]
    pick = f1.selectbox("Job", names, key="sched_job_filter")
    shown = runs if pick == "All" else runs[runs["job_name"] == pick]
    shown = localise_columns(shown, ["started_at", "finished_at"])
    st.dataframe(
        shown[
            ["job_name", "status", "started_at", "finished_at", "duration_s", "detail", "holder"]
        ],
        hide_index=True,
    )
