"""Admin: user management. The users table (filter by role, active, locked out), create a
user, and manage one user: edit the profile, role, scope and active flag, deactivate or
reactivate, unlock, set a temporary password. Every action is one domain call in one
transaction (``app.widgets.run_command``); every one is audited by the domain."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import local_time, localise_columns, md_escape, run_command
from domain.accounts import queries
from domain.accounts import service as accounts
from domain.actor import ROLES
from domain.calendar import local_midnight_utc
from domain.permissions import can

NONE = "—"
ALL = "All"
FLASH_KEY = "admin_flash"
# (comments, not docstrings: Streamlit's "magic" would show a bare string on the page)
# id of the user whose values the edit form's widgets hold (reloaded when it changes)
LOADED_KEY = "admin_edit_loaded_for"
# filters the Audit log page applies once on opening (pages/audit_log.py reads it)
AUDIT_PRESET_KEY = "audit_log_preset"
CREATE_KEYS = (
    "admin_new_username",
    "admin_new_full_name",
    "admin_new_email",
    "admin_new_phone",
    "admin_new_password",
)
PASSWORD_RULES = (
    "At least 12 characters and 5 different characters; not a common password (nor one "
    "with digits or symbols around it) and not containing the username."
)

actor = current_actor()
st.title("Admin")
if not can(actor, "user.list"):
    st.error("Only administrators can manage users.")
    st.stop()

flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash)


def _done(message: str) -> None:
    """After a committed action: show ``message`` on the next run, reload the edit form."""
    st.session_state[FLASH_KEY] = message
    st.session_state.pop(LOADED_KEY, None)
    st.rerun()


def _labels(options: list, active: list) -> dict[str, object]:
    """Select-box label -> id; options no longer active are marked."""
    live = {o.id for o in active}
    return {(o.label if o.id in live else f"{o.label} (inactive)"): o.id for o in options}


with session_scope(readonly=True) as s:
    oems_active = queries.list_oems(s)
    zones_active = queries.list_zones(s)
    teams_active = queries.list_teams(s)
    oem_by_label = _labels(queries.list_oems(s, active_only=False), oems_active)
    zone_by_label = _labels(queries.list_zones(s, active_only=False), zones_active)
    team_by_label = _labels(queries.list_teams(s, active_only=False), teams_active)
    everyone = queries.list_users(s, actor)
label_of = {
    "oem": {v: k for k, v in oem_by_label.items()},
    "zone": {v: k for k, v in zone_by_label.items()},
    "team": {v: k for k, v in team_by_label.items()},
}
user_ids = dict(zip(everyone["username"], everyone["id"], strict=True))

st.subheader("Users")
f1, f2, f3, _ = st.columns([1, 1, 1, 1])
role_filter = f1.selectbox("Role", [ALL, *ROLES], key="admin_filter_role")
active_filter = f2.selectbox("Status", [ALL, "Active", "Inactive"], key="admin_filter_active")
locked_filter = f3.selectbox(
    "Lockout", [ALL, "Locked out", "Not locked"], key="admin_filter_locked"
)
table_slot = st.container()

create_tab, manage_tab = st.tabs(["Create user", "Manage user"])

# --- Create -----------------------------------------------------------------------------------
with create_tab:
    with st.form("admin_create_form"):
        c1, c2 = st.columns(2)
        new_username = c1.text_input("Username", key="admin_new_username")
        new_full_name = c2.text_input("Full name", key="admin_new_full_name")
        new_email = c1.text_input("Email", key="admin_new_email")
        new_phone = c2.text_input("Phone (optional)", key="admin_new_phone")
        new_role = c1.selectbox("Role", ROLES, key="admin_new_role")
        new_oem = c2.selectbox(
            "OEM (required for oem_viewer)",
            [NONE, *(o.label for o in oems_active)],
            key="admin_new_oem",
        )
        new_zone = c1.selectbox(
            "Zone", [NONE, *(z.label for z in zones_active)], key="admin_new_zone"
        )
        new_team = c2.selectbox(
            "Field team (required for field_engineer)",
            [NONE, *(t.label for t in teams_active)],
            key="admin_new_team",
        )
        new_password = st.text_input(
            "Initial password", type="password", help=PASSWORD_RULES, key="admin_new_password"
        )
        st.caption(PASSWORD_RULES + " The user must replace it at their first login.")
        create_clicked = st.form_submit_button("Create user", key="admin_create_submit")
    if create_clicked:
        created = run_command(
            lambda s: accounts.create_user(
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
        )
        if created is not None:
            for key in CREATE_KEYS:  # an empty form for the next user
                st.session_state.pop(key, None)
            st.session_state["admin_selected_user"] = created.username
            _done(f"User '{md_escape(created.username)}' created ({created.role}).")

# --- Manage one user --------------------------------------------------------------------------
with manage_tab:
    if not user_ids:
        st.info("No users yet.")
        selected = None
    else:
        selected = st.selectbox("User", sorted(user_ids), key="admin_selected_user")
    user = None
    if selected is not None:
        with session_scope(readonly=True) as s:
            user = accounts.user_by_id(s, user_ids[selected])
    if user is not None:
        target_id = user.id
        st.markdown(
            f"**{md_escape(user.full_name)}** · {user.role.replace('_', ' ')} · "
            f"{md_escape(user.email)}"
        )
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Status", "Active" if user.active else "Inactive")
        m2.metric("Failed logins", user.failed_login_count)
        m3.metric("Locked until", local_time(user.locked_until) or NONE)
        m4.metric("Last login", local_time(user.last_login_at) or NONE)

        b1, b2, b3, _ = st.columns([1, 1, 1, 1])
        if user.active:
            toggle = ("Deactivate", "admin_deactivate", accounts.deactivate_user, "deactivated")
        else:
            toggle = ("Reactivate", "admin_reactivate", accounts.reactivate_user, "reactivated")
        quick = None
        if b1.button(toggle[0], key=toggle[1]):
            quick = toggle[2], toggle[3]
        if b2.button("Unlock", key="admin_unlock"):
            quick = accounts.unlock_user, "unlocked"
        if quick is not None:
            command, verb = quick
            if run_command(lambda s: command(s, actor, user_id=target_id)):
                _done(f"'{selected}' {verb}.")
        if can(actor, "audit.read") and b3.button("Audit trail", key="admin_audit_trail"):
            st.session_state[AUDIT_PRESET_KEY] = {"search": str(target_id)}
            st.switch_page(Path(__file__).with_name("audit_log.py"))

        with st.form("admin_lock_form", clear_on_submit=True):
            st.markdown("##### Lock account")
            l1, l2 = st.columns([3, 1])
            lock_reason = l1.text_input(
                "Reason (kept in the audit log)",
                placeholder="e.g. lost phone, leaver pending handover",
                key="admin_lock_reason",
            )
            lock_until = l2.date_input(
                "Last locked day (empty: until unlocked)", value=None, key="admin_lock_until"
            )
            st.caption("A locked user cannot log in and is logged out of every open session.")
            lock_clicked = st.form_submit_button("Lock", key="admin_lock_submit")
        if lock_clicked:
            until_utc = (
                None if lock_until is None else local_midnight_utc(lock_until + timedelta(days=1))
            )
            if run_command(
                lambda s: accounts.lock_user(
                    s, actor, user_id=target_id, reason=lock_reason, until=until_utc
                )
            ):
                _done(f"'{selected}' locked.")

        # Edit: the widgets hold the selected user's values (loaded once per user and after
        # every committed action, so the form shows what is stored).
        if st.session_state.get(LOADED_KEY) != target_id:
            st.session_state.update(
                {
                    "admin_edit_full_name": user.full_name,
                    "admin_edit_email": user.email,
                    "admin_edit_phone": user.phone or "",
                    "admin_edit_role": user.role,
                    "admin_edit_oem": label_of["oem"].get(user.oem_id, NONE),
                    "admin_edit_zone": label_of["zone"].get(user.zone_id, NONE),
                    "admin_edit_team": label_of["team"].get(user.team_id, NONE),
                    "admin_edit_active": user.active,
                    LOADED_KEY: target_id,
                }
            )
        st.markdown("##### Edit user")
        with st.form("admin_edit_form"):
            e1, e2 = st.columns(2)
            ed_full_name = e1.text_input("Full name", key="admin_edit_full_name")
            ed_email = e2.text_input("Email", key="admin_edit_email")
            ed_phone = e1.text_input("Phone (optional)", key="admin_edit_phone")
            ed_role = e2.selectbox("Role", ROLES, key="admin_edit_role")
            ed_oem = e1.selectbox(
                "OEM (required for oem_viewer)", [NONE, *oem_by_label], key="admin_edit_oem"
            )
            ed_zone = e2.selectbox("Zone", [NONE, *zone_by_label], key="admin_edit_zone")
            ed_team = e1.selectbox(
                "Field team (required for field_engineer)",
                [NONE, *team_by_label],
                key="admin_edit_team",
            )
            ed_active = e2.checkbox("Active (may log in)", key="admin_edit_active")
            st.caption(
                "A change of role, OEM, zone or team logs the user out of every open session."
            )
            edit_clicked = st.form_submit_button("Save changes", key="admin_edit_submit")
        if edit_clicked:
            updated = run_command(
                lambda s: accounts.update_user(
                    s,
                    actor,
                    user_id=target_id,
                    full_name=ed_full_name,
                    email=ed_email,
                    phone=ed_phone or None,
                    role=ed_role,
                    oem_id=oem_by_label.get(ed_oem),
                    zone_id=zone_by_label.get(ed_zone),
                    team_id=team_by_label.get(ed_team),
                    active=ed_active,
                )
            )
            if updated is not None:
                _done(f"'{selected}' updated.")

        st.markdown("##### Set a temporary password")
        with st.form("admin_reset_form", clear_on_submit=True):
            r1, r2 = st.columns(2)
            reset_pw = r1.text_input(
                "Temporary password", type="password", key="admin_reset_password"
            )
            reset_repeat = r2.text_input(
                "Repeat the password", type="password", key="admin_reset_repeat"
            )
            st.caption(
                PASSWORD_RULES + " The account is unlocked and every session of the user "
                "ends; at the next login the user must choose a new password."
            )
            reset = st.form_submit_button("Reset password", key="admin_reset_submit")
        if reset:
            if reset_repeat != reset_pw:
                st.error("The two passwords differ.")
            elif run_command(
                lambda s: accounts.reset_password(
                    s, actor, user_id=target_id, new_password=reset_pw
                )
            ):
                _done(f"Password of '{selected}' reset; the account is unlocked.")

# --- The table (after the actions, so it shows their result) ---------------------------------
with session_scope(readonly=True) as s:
    users = queries.list_users(
        s,
        actor,
        role=None if role_filter == ALL else role_filter,
        active=None if active_filter == ALL else active_filter == "Active",
        locked=None if locked_filter == ALL else locked_filter == "Locked out",
    )
with table_slot:
    shown = localise_columns(
        users.drop(columns=["id"]), ["locked_until", "last_login_at", "created_at"]
    )
    st.dataframe(shown, hide_index=True, key="admin_users_table")
    st.caption(f"{len(users)} user(s)")
