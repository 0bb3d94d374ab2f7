"""My account: who I am, and change my own password (every role)."""

from __future__ import annotations

import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import show_domain_error
from domain.accounts import service as accounts
from domain.errors import DomainError

actor = current_actor()
st.title("My account")
st.markdown(f"Logged in as **{actor.username}** ({actor.role.replace('_', ' ')}).")

st.subheader("Change password")
with st.form("account_password_form", clear_on_submit=True):
    current = st.text_input("Current password", type="password", key="account_current_password")
    new = st.text_input(
        "New password (at least 10 characters)", type="password", key="account_new_password"
    )
    repeat = st.text_input("Repeat new password", type="password", key="account_repeat_password")
    submitted = st.form_submit_button("Change password", key="account_change_submit")

if submitted:
    if new != repeat:
        st.error("The two new passwords differ.")
    else:
        changed = False
        try:
            with session_scope() as s:
                accounts.change_own_password(s, actor, current_password=current, new_password=new)
            changed = True
        except DomainError as e:
            show_domain_error(e)
        if changed:
            st.success("Password changed.")
