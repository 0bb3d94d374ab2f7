"""Month closure (seed 003): pick an OEM and a month with activity, see the folder's status,
figures and computed pre-closure checklist (pass/fail with the refs at fault), record the
evidence link, and move the month along open -> in review -> closed -> invoiced (or back).
The folder of a month is opened lazily here when the month's activity predates it. Every
action is one domain call in one transaction; rules and permissions are the domain's."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import pandas as pd
import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import local_time, md_escape, money, run_command, show_domain_error
from domain.accounts import queries as account_queries
from domain.errors import DomainError
from domain.permissions import can
from domain.reporting.months import (
    Checklist,
    MonthDTO,
    MonthHistoryEntry,
    MonthOption,
    checklist,
    close_month,
    list_months,
    mark_invoiced,
    month_history,
    open_month,
    reopen_month,
    return_to_open,
    set_evidence_url,
    start_review,
)

T = TypeVar("T")
FLASH_KEY = "mc_flash"
NONE = "—"
STATUS_LABELS = {
    "open": "Open",
    "in_review": "In review",
    "closed": "Closed (locked)",
    "invoiced": "Invoiced (locked)",
}


def _run(action: Callable[[Any], T]) -> T | None:
    """Run ``action(session)`` in one (retried) transaction; show a domain error and return
    None."""
    return run_command(action)


def _done(message: str) -> None:
    st.session_state[FLASH_KEY] = message
    st.rerun()


def _read(action: Callable[[Any], T]) -> T:
    """Run a read in a read-only transaction; show a domain error and stop the page."""
    error: DomainError | None = None
    result: T | None = None
    try:
        with session_scope(readonly=True) as s:
            result = action(s)
    except DomainError as e:
        error = e
    if error is not None:
        show_domain_error(error)
        st.stop()
    return result  # type: ignore[return-value]


def _figure(value: Any, suffix: str = "") -> str:
    return NONE if value is None else f"{value}{suffix}"


actor = current_actor()
st.title("Month closure")
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash)
st.caption(
    "Each OEM's month is a folder: open → in review → closed → invoiced. A closed or invoiced "
    "month is locked: its installations, closure packs and report cannot change."
)

if not can(actor, "month.read"):
    st.error("Month closure is internal to the operations team.")
    st.stop()

with session_scope(readonly=True) as s:
    oems = account_queries.list_oems(s, active_only=False)
if not oems:
    st.info("No OEM yet.")
    st.stop()
oem_by_label = {f"{o.name} ({o.code})": o.id for o in oems}
c1, c2 = st.columns(2)
oem_label = c1.selectbox("OEM", list(oem_by_label), key="mc_oem")
oem_id = oem_by_label[oem_label]
months: list[MonthOption] = _read(lambda s: list_months(s, actor, oem_id=oem_id))
if not months:
    st.info("This OEM has no month with activity yet.")
    st.stop()
month_by_label = {f"{m.month:%B %Y}": m.month for m in months}
month_label = c2.selectbox("Month", list(month_by_label), key="mc_month")
month = month_by_label[month_label]

folder: MonthDTO | None = _run(lambda s: open_month(s, actor, oem_id=oem_id, month=month))
if folder is None:
    st.stop()
result: Checklist = _read(lambda s: checklist(s, actor, oem_id=oem_id, month=month))
history: list[MonthHistoryEntry] = _read(
    lambda s: month_history(s, actor, oem_id=oem_id, month=month)
)
folder = result.month

# --- Folder -----------------------------------------------------------------------------------
st.subheader(f"{folder.oem_code} · {folder.month:%B %Y}")
m1, m2, m3, m4 = st.columns(4)
m1.metric("Status", STATUS_LABELS[folder.status])
m2.metric("Installations", folder.installations_completed)
m3.metric("Revenue", NONE if folder.total_revenue is None else money(folder.total_revenue))
m4.metric("SLA compliance", _figure(folder.sla_compliance_rate, " %"))
st.caption(
    f"Leads {folder.total_leads} · surveys {folder.surveys_completed} · closure packs "
    f"submitted {folder.closure_packs_submitted} · average lead→installation "
    f"{_figure(folder.average_installation_time_days, ' days')} · "
    + (
        f"compiled {local_time(folder.compiled_at)} (v{folder.version})"
        if folder.compiled_at
        else "not compiled yet (Reports page)"
    )
)
if folder.evidence_url:
    link = quote(folder.evidence_url, safe=":/?#@!$&'*+,;=%-._~")  # ( ) [ ] < > space escaped
    st.markdown(f"Evidence: [{md_escape(folder.evidence_url)}]({link})")
if folder.closed_at:
    st.caption(
        f"Closed {local_time(folder.closed_at)} by {md_escape(folder.closed_by) or NONE}"
        + (f" — reason: {md_escape(folder.closure_reason)}" if folder.closure_reason else "")
    )

# --- Checklist --------------------------------------------------------------------------------
st.subheader("Pre-closure checklist")
failing = [i for i in result.items if not i.passed]
if failing:
    st.warning(
        f"{len(failing)} of {len(result.items)} checks failing. Closing anyway needs a manager "
        "and a reason."
    )
else:
    st.success("Every check passes.")
st.dataframe(
    pd.DataFrame(
        [
            {
                "Check": i.label,
                "Result": "✅ pass" if i.passed else "❌ fail",
                "Detail": i.detail,
                "At fault": ", ".join(i.offending),
            }
            for i in result.items
        ]
    ),
    hide_index=True,
    width="stretch",
    key="mc_checklist",
)

# --- Actions by state -------------------------------------------------------------------------
st.subheader("Actions")
key = f"{folder.oem_code}_{folder.month:%Y%m}"
if folder.status in ("open", "in_review") and can(actor, "month.review"):
    with st.form(f"mc_evidence_{key}"):
        url = st.text_input(
            "Evidence link (https)", value=folder.evidence_url or "", key="mc_evidence_url"
        )
        if st.form_submit_button("Save evidence link", key="mc_evidence_submit"):
            saved = _run(
                lambda s: set_evidence_url(
                    s, actor, oem_id=oem_id, month=month, evidence_url=url or None
                )
            )
            if saved is not None:
                _done("Evidence link saved.")

if folder.status == "open":
    if can(actor, "month.review") and st.button("Start review", key="mc_start_review"):
        reviewed = _run(lambda s: start_review(s, actor, oem_id=oem_id, month=month))
        if reviewed is not None:
            _done(f"{reviewed.oem_code} {reviewed.month:%B %Y} is in review.")
elif folder.status == "in_review":
    if can(actor, "month.close"):
        with st.form(f"mc_close_{key}"):
            reason = st.text_area(
                "Reason (required when checks fail)", key="mc_close_reason", max_chars=1000
            )
            label = "Close with exceptions" if failing else "Close month"
            if st.form_submit_button(label, key="mc_close_submit"):
                closed = _run(
                    lambda s: close_month(
                        s, actor, oem_id=oem_id, month=month, reason=reason or None
                    )
                )
                if closed is not None:
                    _done(f"{closed.oem_code} {closed.month:%B %Y} is closed and locked.")
    if can(actor, "month.review"):
        with st.form(f"mc_back_{key}"):
            back_reason = st.text_input("Why send it back?", key="mc_back_reason")
            if st.form_submit_button("Send back to open", key="mc_back_submit"):
                back = _run(
                    lambda s: return_to_open(
                        s, actor, oem_id=oem_id, month=month, reason=back_reason
                    )
                )
                if back is not None:
                    _done("The month is open again.")
elif folder.status == "closed":
    if can(actor, "month.invoice") and st.button("Mark invoiced", key="mc_invoice"):
        invoiced = _run(lambda s: mark_invoiced(s, actor, oem_id=oem_id, month=month))
        if invoiced is not None:
            _done(f"{invoiced.oem_code} {invoiced.month:%B %Y} is invoiced.")
    if can(actor, "month.reopen"):
        with st.form(f"mc_reopen_{key}"):
            reopen_reason = st.text_input("Why reopen it?", key="mc_reopen_reason")
            if st.form_submit_button("Reopen month", key="mc_reopen_submit"):
                reopened = _run(
                    lambda s: reopen_month(
                        s, actor, oem_id=oem_id, month=month, reason=reopen_reason
                    )
                )
                if reopened is not None:
                    _done("The month is open again (unlocked).")
else:
    st.info("Invoiced: the month is final.")

# --- History ----------------------------------------------------------------------------------
st.subheader("History")
st.dataframe(
    pd.DataFrame(
        [
            {
                "When": local_time(h.at),
                "Who": h.actor,
                "Action": h.action,
                "Details": json.dumps(h.after, ensure_ascii=False) if h.after else "",
            }
            for h in history
        ]
    ),
    hide_index=True,
    width="stretch",
    key="mc_history",
)
