"""My account: who I am, and change my own password (every role)."""

from __future__ import annotations

import streamlit as st

from app.auth import adopt_session_version
from app.runtime import current_actor
from app.widgets import md_escape, run_command
from domain.accounts import service as accounts

actor = current_actor()
st.title("My account")
st.markdown(f"Logged in as **{md_escape(actor.username)}** ({actor.role.replace('_', ' ')}).")

st.subheader("Change password")
with st.form("account_password_form", clear_on_submit=True):
    current = st.text_input("Current password", type="password", key="account_current_password")
    new = st.text_input(
        "New password (at least 12 characters)", type="password", key="account_new_password"
    )
    repeat = st.text_input("Repeat new password", type="password", key="account_repeat_password")
    submitted = st.form_submit_button("Change password", key="account_change_submit")

if submitted:
    if new != repeat:
        st.error("The two new passwords differ.")
    else:
        user = run_command(
            lambda s: accounts.change_own_password(
                s, actor, current_password=current, new_password=new
            )
        )
        if user is not None:
            adopt_session_version(user)  # this session stays; the others must log in again
            st.success("Password changed.")
