"""Notifications: the logged-in user's inbox (addressed to them or to their role), newest first,
with an unread filter and mark-as-read (one notification, or all unread at once)."""

from __future__ import annotations

import uuid

import pandas as pd
import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import local_time, md_escape, run_command, show_domain_error
from domain.errors import DomainError
from domain.notifications.queries import NotificationDTO, inbox, unread_count
from domain.notifications.service import mark_read

FLASH_KEY = "notif_flash"
LIMIT = 200
KIND_LABELS = {
    "confirmation_call_due": "Confirmation call due",
    "reminder": "Reminder",
    "reorder_alert": "Reorder alert",
    "sla_at_risk": "SLA at risk",
    "report_ready": "Report ready",
    "revision_needed": "Revision needed",
}


def _mark(ids: list[uuid.UUID]) -> int | None:
    """Mark notifications read in one (retried) transaction; the count, or None after an
    error."""

    def mark_all(s) -> int:  # type: ignore[no-untyped-def]
        for notification_id in ids:
            mark_read(s, actor, notification_id=notification_id)
        return len(ids)

    return run_command(mark_all)


actor = current_actor()
st.title("Notifications")
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash)

unread_only = st.toggle("Unread only", key="notif_unread_only")
items: list[NotificationDTO] = []
unread = 0
error: DomainError | None = None
try:
    with session_scope(readonly=True) as s:
        items = inbox(s, actor, unread_only=unread_only, limit=LIMIT)
        unread = unread_count(s, actor)
except DomainError as e:
    error = e
if error is not None:
    show_domain_error(error)
    st.stop()

m1, m2 = st.columns(2)
m1.metric("Unread", unread)
m2.metric("Shown", len(items))

if unread and st.button("Mark all as read", key="notif_mark_all"):
    with session_scope(readonly=True) as s:
        unread_ids = [n.id for n in inbox(s, actor, unread_only=True, limit=1000)]
    done = _mark(unread_ids)
    if done is not None:
        st.session_state[FLASH_KEY] = f"{done} notification(s) marked as read."
        st.rerun()

if not items:
    st.info("No unread notifications." if unread_only else "No notifications.")
    st.stop()

st.dataframe(
    pd.DataFrame(
        [
            {
                "Received": local_time(n.created_at),
                "Kind": KIND_LABELS.get(n.kind, n.kind),
                "Subject": n.subject,
                "Due": local_time(n.due_at),
                "Read": local_time(n.read_at) if n.is_read else "unread",
                "For": "you"
                if n.recipient_user_id == actor.user_id
                else f"role {n.recipient_role}",
            }
            for n in items
        ]
    ),
    hide_index=True,
    width="stretch",
)

for n in items:
    with st.container(border=True):
        st.markdown(f"**{md_escape(n.subject)}**" + ("" if n.is_read else "  · :blue[new]"))
        due = f" · due {local_time(n.due_at)}" if n.due_at else ""
        st.caption(f"{KIND_LABELS.get(n.kind, n.kind)} · {local_time(n.created_at)}{due}")
        if n.body:
            st.markdown(md_escape(n.body))
        clicked = not n.is_read and st.button("Mark read", key=f"notif_read_{n.id}")
        if clicked and _mark([n.id]) is not None:
            st.session_state[FLASH_KEY] = f"Marked read: {md_escape(n.subject)}"
            st.rerun()
