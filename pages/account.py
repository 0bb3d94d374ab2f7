"""My account: who I am, and change my own password (every role). A user whose password an
admin set (new account, reset) sees only this page until they choose their own."""

from __future__ import annotations

import streamlit as st

from app.auth import adopt_session_version, password_change_required
from app.runtime import current_actor
from app.widgets import md_escape, run_command
from domain.accounts import service as accounts

FLASH_KEY = "account_flash"

actor = current_actor()
forced = password_change_required()
st.title("My account")
st.markdown(f"Logged in as **{md_escape(actor.username)}** ({actor.role.replace('_', ' ')}).")
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash)
if forced:
    st.warning(
        "An administrator set your password. Choose your own password to continue: your "
        "other pages open once it is changed. Current password = the one you were given."
    )

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
            if forced:  # rerun: the full menu comes back
                st.session_state[FLASH_KEY] = "Password changed. All your pages are open again."
                st.rerun()
            st.success("Password changed.")
