"""Admin: the users table (filters), create a user, and manage one user (deactivate or
reactivate, unlock, reset password). Every action is one domain call in one transaction."""

from __future__ import annotations

import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import local_time, localise_columns, show_domain_error
from domain.accounts import queries
from domain.accounts import service as accounts
from domain.actor import ROLES
from domain.errors import DomainError
from domain.permissions import can

NONE = "—"
ALL = "All"

actor = current_actor()
st.title("Admin")
if not can(actor, "user.list"):
    st.error("Only administrators can manage users.")
    st.stop()

with session_scope(readonly=True) as s:
    oems = queries.list_oems(s)
    zones = queries.list_zones(s)
    teams = queries.list_teams(s)
    everyone = queries.list_users(s, actor)
oem_by_label = {o.label: o.id for o in oems}
zone_by_label = {z.label: z.id for z in zones}
team_by_label = {t.label: t.id for t in teams}
user_ids = dict(zip(everyone["username"], everyone["id"], strict=True))

st.subheader("Users")
f1, f2, _ = st.columns([1, 1, 2])
role_filter = f1.selectbox("Role", [ALL, *ROLES], key="admin_filter_role")
active_filter = f2.selectbox("Status", [ALL, "Active", "Inactive"], key="admin_filter_active")
table_slot = st.container()

create_tab, manage_tab = st.tabs(["Create user", "Manage user"])

with create_tab, st.form("admin_create_form"):
    c1, c2 = st.columns(2)
    new_username = c1.text_input("Username", key="admin_new_username")
    new_full_name = c2.text_input("Full name", key="admin_new_full_name")
    new_email = c1.text_input("Email", key="admin_new_email")
    new_phone = c2.text_input("Phone (optional)", key="admin_new_phone")
    new_role = c1.selectbox("Role", ROLES, key="admin_new_role")
    new_oem = c2.selectbox(
        "OEM (required for oem_viewer)", [NONE, *oem_by_label], key="admin_new_oem"
    )
    new_zone = c1.selectbox("Zone", [NONE, *zone_by_label], key="admin_new_zone")
    new_team = c2.selectbox(
        "Field team (required for field_engineer)", [NONE, *team_by_label], key="admin_new_team"
    )
    new_password = st.text_input(
        "Initial password (at least 10 characters)", type="password", key="admin_new_password"
    )
    create_clicked = st.form_submit_button("Create user", key="admin_create_submit")

created = None
if create_clicked:
    try:
        with session_scope() as s:
            created = accounts.create_user(
                s,
                actor,
                username=new_username,
                full_name=new_full_name,
                email=new_email,
                phone=new_phone or None,
                role=new_role,
                password=new_password,
                oem_id=oem_by_label.get(new_oem),
                zone_id=zone_by_label.get(new_zone),
                team_id=team_by_label.get(new_team),
            )
    except DomainError as e:
        with create_tab:
            show_domain_error(e)
    if created is not None:
        user_ids[created.username] = created.id
        with create_tab:
            st.success(f"User '{created.username}' created ({created.role}).")

with manage_tab:
    if not user_ids:
        st.info("No users yet.")
        selected = None
    else:
        selected = st.selectbox("User", sorted(user_ids), key="admin_selected_user")
    status_slot = st.container()
    if selected is not None:
        target_id = user_ids[selected]
        b1, b2, b3 = st.columns(3)
        deactivate = b1.button("Deactivate", key="admin_deactivate")
        reactivate = b2.button("Reactivate", key="admin_reactivate")
        unlock = b3.button("Unlock", key="admin_unlock")
        with st.form("admin_reset_form", clear_on_submit=True):
            reset_pw = st.text_input(
                "New password (at least 10 characters)", type="password", key="admin_reset_password"
            )
            reset = st.form_submit_button("Reset password", key="admin_reset_submit")

        action = None
        try:
            if deactivate:
                with session_scope() as s:
                    accounts.deactivate_user(s, actor, user_id=target_id)
                action = f"'{selected}' deactivated."
            elif reactivate:
                with session_scope() as s:
                    accounts.reactivate_user(s, actor, user_id=target_id)
                action = f"'{selected}' reactivated."
            elif unlock:
                with session_scope() as s:
                    accounts.unlock_user(s, actor, user_id=target_id)
                action = f"'{selected}' unlocked."
            elif reset:
                with session_scope() as s:
                    accounts.reset_password(s, actor, user_id=target_id, new_password=reset_pw)
                action = f"Password of '{selected}' reset; the account is unlocked."
        except DomainError as e:
            show_domain_error(e)
        if action:
            st.success(action)

        with session_scope(readonly=True) as s:
            user = accounts.user_by_id(s, target_id)
        if user is not None:
            with status_slot:
                m1, m2, m3, m4 = st.columns(4)
                m1.metric("Status", "Active" if user.active else "Inactive")
                m2.metric("Failed logins", user.failed_login_count)
                m3.metric("Locked until", local_time(user.locked_until) or NONE)
                m4.metric("Last login", local_time(user.last_login_at) or NONE)

with session_scope(readonly=True) as s:
    users = queries.list_users(
        s,
        actor,
        role=None if role_filter == ALL else role_filter,
        active=None if active_filter == ALL else active_filter == "Active",
    )
with table_slot:
    shown = localise_columns(
        users.drop(columns=["id"]), ["locked_until", "last_login_at", "created_at"]
    )
    st.dataframe(shown, hide_index=True, key="admin_users_table")
    st.caption(f"{len(users)} user(s)")
