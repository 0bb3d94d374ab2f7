"""Dispatch board: one zone's week as a planner's board (teams x days split into the time
slots, bars coloured by status, unavailable teams in grey, Sundays and holidays shaded), the
same week as a text grid and as a list, the open jobs nobody is assigned to, and the
planner's actions: book a job (teams suggested by zone, skill, week load and SLA), move,
unassign, mark a team unavailable and reassign each affected job to a backup team in one
click (or reschedule it). One domain call per action."""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import md_escape, run_command, show_domain_error
from db.types import utcnow
from domain.accounts import queries as account_queries
from domain.calendar import local_date, week_start
from domain.errors import DomainError
from domain.installations import dispatch, scheduling
from domain.installations import service as installation_service
from domain.permissions import can
from domain.scheduling import time_slots

ALL = "All zones"
NO_STANDBY = "No standby team"
KEEP = "(keep current team)"
FLASH_KEY = "dispatch_flash"
SUGGEST_KEY = "dispatch_suggestions"
EMERGENCY_KEY = "dispatch_emergency"
JOB_TITLES = {
    "team_code": "Team",
    "work_date": "Date",
    "time_slot": "Slot",
    "installation_ref": "Installation",
    "status": "Status",
    "role": "Role",
    "customer_name": "Customer",
    "area": "Area",
}
UNASSIGNED_TITLES = {
    "installation_ref": "Installation",
    "status": "Status",
    "scheduled_date": "Appointment",
    "time_slot": "Slot",
    "customer_name": "Customer",
    "area": "Area",
    "charger_type": "Charger",
}

actor = current_actor()
st.title("Dispatch board")
# Always one element here, message or not, so the elements below (the tabs) keep their
# identity and the open tab stays open after an action.
flash_box = st.empty()
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    flash_box.success(flash)


def run(fn, **kwargs):  # type: ignore[no-untyped-def]
    """One domain command in one (retried) transaction; shows a DomainError and returns None."""
    return run_command(lambda s: fn(s, actor, **kwargs))


def done(message: str) -> None:
    st.session_state[FLASH_KEY] = message
    st.rerun()


# --- Filters ----------------------------------------------------------------------------------
with session_scope(readonly=True) as s:
    zones = account_queries.list_zones(s)
zone_by_label = {z.label: z.id for z in zones}
zone_labels = [ALL, *zone_by_label]
default_zone = next((i + 1 for i, z in enumerate(zones) if z.id == actor.zone_id), 1)
today = local_date(utcnow())
f1, f2 = st.columns(2)
zone_label = f1.selectbox(
    "Zone", zone_labels, index=min(default_zone, len(zone_labels) - 1), key="dispatch_zone"
)
picked_week = f2.date_input("Week (Monday)", value=week_start(today), key="dispatch_week")
monday = week_start(picked_week if isinstance(picked_week, date) else today)
if isinstance(picked_week, date) and picked_week != monday:
    st.caption(f"Showing the week starting Monday {monday:%d %b %Y}.")
zone_id = zone_by_label.get(zone_label)

board = None
error = None
try:
    with session_scope(readonly=True) as s:
        board = dispatch.board(s, actor, week_start=monday, zone_id=zone_id)
        zone_teams = account_queries.list_teams(s, zone_id)
except DomainError as e:
    error = e
if error is not None:
    show_domain_error(error)
    st.stop()
assert board is not None

jobs = board.jobs_frame()
unassigned = board.unassigned_frame()
m1, m2, m3 = st.columns(3)
m1.metric("Teams", len(board.teams))
m2.metric("Jobs this week", len(jobs))
m3.metric("Unassigned open jobs", len(unassigned))

slots = list(time_slots())


def week_figure() -> go.Figure:
    """Teams (rows) x the week's day-slots: one bar trace per status, grey unavailable days,
    shaded Sundays/holidays. Positions come from the domain's pure helpers."""
    n = len(slots)
    rows = [t.label for t in board.teams]
    index = {label: i for i, label in enumerate(rows)}
    fig = go.Figure()
    blocked = board.blocked_frame(slots)
    for b in blocked.itertuples():
        if b.kind == "off":
            fig.add_shape(
                type="rect",
                xref="x",
                yref="y",
                x0=b.x0,
                x1=b.x1,
                y0=index[b.team] - 0.5,
                y1=index[b.team] + 0.5,
                fillcolor=dispatch.OFF_DAY_COLOUR,
                line_width=0,
                layer="below",
            )
    away = blocked[blocked["kind"] == "unavailable"]
    if not away.empty:
        fig.add_trace(
            go.Bar(
                name="Team unavailable",
                orientation="h",
                y=away["team"].tolist(),
                base=away["x0"].tolist(),
                x=(away["x1"] - away["x0"]).tolist(),
                width=0.9,
                marker={"color": dispatch.UNAVAILABLE_COLOUR, "pattern": {"shape": "/"}},
                customdata=away[["text"]].to_numpy().tolist(),
                hovertemplate="%{y}: unavailable (%{customdata[0]})<extra></extra>",
            )
        )
    timeline = board.timeline_frame(slots)
    for status, colour in dispatch.STATUS_COLOURS.items():
        part = timeline[timeline["status"] == status]
        if part.empty:
            continue
        fig.add_trace(
            go.Bar(
                name=status,
                orientation="h",
                y=part["team"].tolist(),
                base=part["x"].tolist(),
                x=[1] * len(part),
                width=0.8,
                marker={"color": colour, "line": {"color": "white", "width": 1}},
                text=part["installation_ref"].tolist(),
                textposition="inside",
                insidetextanchor="middle",
                customdata=part[
                    ["installation_ref", "customer_name", "area", "status", "day", "time_slot"]
                ]
                .to_numpy()
                .tolist(),
                hovertemplate=(
                    "<b>%{customdata[0]}</b><br>%{customdata[1]} · %{customdata[2]}"
                    "<br>%{customdata[3]}<br>%{customdata[4]} %{customdata[5]}<extra></extra>"
                ),
            )
        )
    for d in range(8):  # day boundaries strong, slot boundaries faint
        fig.add_vline(x=d * n, line_width=1.5, line_color="#888")
        if d < 7:
            for j in range(1, n):
                fig.add_vline(x=d * n + j, line_width=0.5, line_dash="dot", line_color="#ccc")
    ticks = board.day_ticks(slots)
    fig.update_xaxes(
        range=[0, 7 * n],
        tickvals=[x for x, _ in ticks],
        ticktext=[label for _, label in ticks],
        showgrid=False,
        side="top",
    )
    fig.update_yaxes(categoryorder="array", categoryarray=rows, autorange="reversed", title=None)
    fig.update_layout(
        barmode="overlay",
        height=110 + 32 * max(len(rows), 1),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.02, "yanchor": "top", "title": "Status"},
        uniformtext={"minsize": 8, "mode": "hide"},
    )
    return fig


st.subheader(f"Week of {monday:%d %b %Y}")
if jobs.empty:
    st.info("No team has a job this week.")
if board.teams:
    st.caption(f"Each day is split into the slots {', '.join(slots)}; grey: team unavailable.")
    board_view, grid_view, list_view = st.tabs(["Board", "Grid", "List"], key="dispatch_view")
    with board_view:
        st.plotly_chart(week_figure(), width="stretch", key="dispatch_week_chart")
    with grid_view:
        st.dataframe(board.grid_frame(slots), hide_index=True, width="stretch", key="dispatch_grid")
    with list_view:
        st.dataframe(
            jobs[list(JOB_TITLES)].rename(columns=JOB_TITLES),
            hide_index=True,
            width="stretch",
            key="dispatch_jobs_table",
        )

st.subheader("Unassigned jobs")
if unassigned.empty:
    st.caption("Every open job of this zone and week has a team.")
else:
    st.dataframe(
        unassigned[list(UNASSIGNED_TITLES)].rename(columns=UNASSIGNED_TITLES),
        hide_index=True,
        width="stretch",
        key="dispatch_unassigned_table",
    )

if not can(actor, scheduling.ASSIGN_PERMISSION):
    st.caption("Read-only: only planners book, move and unassign teams.")
    st.stop()

team_by_label = {t.label: t.id for t in zone_teams}
book_tab, move_tab, emergency_tab = st.tabs(
    ["Book", "Move / unassign", "Team unavailable"], key="dispatch_tabs"
)

# --- Book -------------------------------------------------------------------------------------
with book_tab:
    unassigned_by_ref = {u.installation_ref: u for u in board.unassigned}
    if not unassigned_by_ref:
        st.caption("No unassigned job to book.")
    else:
        with st.form("dispatch_suggest_form"):
            b1, b2, b3 = st.columns(3)
            ref = b1.selectbox("Installation", list(unassigned_by_ref), key="dispatch_book_inst")
            chosen = unassigned_by_ref[ref] if ref else None
            book_date = b2.date_input(
                "Date",
                value=(chosen.scheduled_date if chosen and chosen.scheduled_date else monday),
                key="dispatch_book_date",
            )
            book_slot = b3.selectbox("Slot", slots, key="dispatch_book_slot")
            suggest_clicked = st.form_submit_button("Suggest teams", key="dispatch_suggest_submit")
        if suggest_clicked and chosen is not None:
            found = run(
                scheduling.suggest_teams,
                installation_id=chosen.installation_id,
                work_date=book_date,
                time_slot=book_slot,
                limit=8,
            )
            if found is not None:
                st.session_state[SUGGEST_KEY] = {
                    "installation_id": chosen.installation_id,
                    "ref": chosen.installation_ref,
                    "date": book_date,
                    "slot": book_slot,
                    "teams": [(t.label, t.team_id, t.eligible) for t in found],
                }
        pending = st.session_state.get(SUGGEST_KEY)
        if pending:
            st.markdown(
                f"**{pending['ref']}** on {pending['date']:%a %d %b %Y}, slot {pending['slot']}"
            )
            if not pending["teams"]:
                st.warning("No team is free in that slot; try another date or slot.")
            else:
                with st.form("dispatch_book_form"):
                    labels = [label for label, _, _ in pending["teams"]]
                    team_label = st.selectbox("Team (best first)", labels, key="dispatch_book_team")
                    override = st.checkbox(
                        "Allow a team from another zone or without the charger skill",
                        key="dispatch_book_override",
                    )
                    book_clicked = st.form_submit_button("Book", key="dispatch_book_submit")
                if book_clicked and team_label:
                    team_id = dict((lb, tid) for lb, tid, _ in pending["teams"])[team_label]
                    booked = run(
                        scheduling.book,
                        installation_id=pending["installation_id"],
                        work_date=pending["date"],
                        time_slot=pending["slot"],
                        team_id=team_id,
                        allow_mismatch=override,
                    )
                    if booked is not None:
                        st.session_state.pop(SUGGEST_KEY, None)
                        done(
                            f"{booked.installation_ref} booked for {booked.team_code} on "
                            f"{booked.work_date:%d %b %Y} {booked.time_slot}."
                        )

# --- Move / unassign ----------------------------------------------------------------------------
with move_tab:
    job_by_label = {
        f"{j.installation_ref} · {j.team_code} · {j.work_date:%a %d %b} {j.time_slot}": j
        for j in board.jobs
    }
    if not job_by_label:
        st.caption("No job this week to move or unassign.")
    else:
        with st.form("dispatch_move_form"):
            job_label = st.selectbox("Job", list(job_by_label), key="dispatch_move_job")
            mv1, mv2, mv3 = st.columns(3)
            move_date = mv1.date_input("New date", value=monday, key="dispatch_move_date")
            move_slot = mv2.selectbox("New slot", slots, key="dispatch_move_slot")
            move_team = mv3.selectbox("Team", [KEEP, *team_by_label], key="dispatch_move_team")
            move_clicked = st.form_submit_button("Move", key="dispatch_move_submit")
        if move_clicked and job_label:
            moved = run(
                scheduling.move,
                installation_id=job_by_label[job_label].installation_id,
                work_date=move_date,
                time_slot=move_slot,
                team_id=None if move_team == KEEP else team_by_label[move_team],
            )
            if moved is not None:
                done(
                    f"{moved.installation_ref} moved to {moved.team_code} on "
                    f"{moved.work_date:%d %b %Y} {moved.time_slot}."
                )
        with st.form("dispatch_unassign_form"):
            un_label = st.selectbox("Job", list(job_by_label), key="dispatch_unassign_job")
            un_reason = st.text_input("Reason", key="dispatch_unassign_reason")
            un_clicked = st.form_submit_button("Unassign", key="dispatch_unassign_submit")
        if un_clicked and un_label:
            released = run(
                scheduling.unassign,
                installation_id=job_by_label[un_label].installation_id,
                reason=un_reason,
            )
            if released is not None:
                done(f"{released.installation_ref} unassigned from {released.team_code}.")
        with st.form("dispatch_standby_form"):
            st.caption(
                "A standby backup team holds no slot; it is suggested first in an emergency."
            )
            sb_label = st.selectbox("Job", list(job_by_label), key="dispatch_standby_job")
            sb_team = st.selectbox(
                "Standby backup team", [NO_STANDBY, *team_by_label], key="dispatch_standby_team"
            )
            sb_clicked = st.form_submit_button("Set standby", key="dispatch_standby_submit")
        if sb_clicked and sb_label:
            job = job_by_label[sb_label]
            standby_ref = run(
                scheduling.set_standby_backup,
                installation_id=job.installation_id,
                team_id=None if sb_team == NO_STANDBY else team_by_label[sb_team],
            )
            if standby_ref is not None:
                done(f"{standby_ref}: standby backup {sb_team}.")

# --- Emergencies ----------------------------------------------------------------------------------
with emergency_tab:
    with st.form("dispatch_unavailable_form"):
        e1, e2, e3 = st.columns(3)
        un_team = e1.selectbox("Team", list(team_by_label), key="dispatch_unavail_team")
        un_from = e2.date_input("From", value=today, key="dispatch_unavail_from")
        un_to = e3.date_input("To", value=today, key="dispatch_unavail_to")
        un_why = st.text_input(
            "Reason (leave, vehicle breakdown...)", key="dispatch_unavail_reason"
        )
        unavailable_clicked = st.form_submit_button(
            "Mark team unavailable", key="dispatch_unavail_submit"
        )
    if unavailable_clicked and un_team:
        marked = run(
            scheduling.mark_team_unavailable,
            team_id=team_by_label[un_team],
            from_date=un_from,
            to_date=un_to,
            reason=un_why,
        )
        if marked is not None:
            st.session_state[EMERGENCY_KEY] = {
                "team_id": team_by_label[un_team],
                "team": un_team,
                "from": un_from,
                "to": un_to,
                "reason": un_why.strip(),
            }
            st.success(f"{md_escape(un_team)} marked unavailable: {len(marked)} job(s) affected.")

    emergency = st.session_state.get(EMERGENCY_KEY)
    if emergency:
        affected = run(
            scheduling.affected_jobs,
            team_id=emergency["team_id"],
            from_date=emergency["from"],
            to_date=emergency["to"],
        )
        st.markdown(
            f"**Affected jobs of {md_escape(emergency['team'])}** "
            f"({emergency['from']:%d %b} – {emergency['to']:%d %b}: "
            f"{md_escape(emergency['reason'])})"
        )
        if not affected:
            st.caption("No job left to reassign.")
        for job in affected or []:
            a = job.assignment
            row = st.columns([3, 2, 2])
            row[0].markdown(
                f"{a.installation_ref} · {md_escape(job.customer_name)} · {a.work_date:%a %d %b} "
                f"{a.time_slot} · {job.installation_status}"
            )
            backup = next((t for t in job.suggestions if t.eligible), None)
            if backup is None:
                row[1].caption("no eligible backup team free")
            elif row[1].button(
                f"Reassign to {backup.team_code}", key=f"dispatch_reassign_{a.installation_id}"
            ):
                moved = run(
                    scheduling.reassign_emergency,
                    installation_id=a.installation_id,
                    backup_team_id=backup.team_id,
                    reason=f"{emergency['team']} unavailable: {emergency['reason']}",
                )
                if moved is not None:
                    done(
                        f"{moved.installation_ref} reassigned to {moved.team_code} "
                        "(emergency backup)."
                    )
            if row[2].button("Reschedule", key=f"dispatch_reschedule_{a.installation_id}"):
                resched = run(
                    installation_service.reschedule,
                    installation_id=a.installation_id,
                    reason=f"{emergency['team']} unavailable: {emergency['reason']}",
                )
                if resched is not None:
                    done(f"{a.installation_ref} set to rescheduled; book a new date.")
