"""The login gate of the app shell.

The password is checked ONLY by ``domain.accounts.service.authenticate`` (database lockout,
audit); streamlit-authenticator 0.4.2 is used for its signed re-authentication cookie:

* login form submitted -> ``authenticate`` in one ``session_scope`` (committed even when the
  login fails, so the failed-login counter and audit row persist) -> on success the frozen
  ``Actor`` goes to ``st.session_state["actor"]``, streamlit-authenticator's session keys
  (``authentication_status``, ``username``, ``name``, ``email``, ``roles``) are set and its
  cookie is written so that a page reload stays logged in;
* a new session (page reload) with a valid cookie re-authenticates through
  ``Authenticate.login(location="unrendered")`` against a credentials dict built fresh from
  the database on that run, which holds only active, unlocked users; the actor is then rebuilt
  from the ``app_user`` row;
* every run of a logged-in session re-reads the user row: a deactivated user is logged out,
  and so is a session whose ``session_version`` is older than the row's (the password was
  changed or reset, or the role/scope changed, elsewhere);
* the login cookie carries the session version too (claim ``sv``, added to
  streamlit-authenticator's signed token by ``_encode_cookie_token``): an older cookie does not
  re-authenticate, so a password change forces a new login on every other browser;
* logout (one sidebar click) clears the actor, the authenticator keys and the cookie.

Refused logins all show ``LOGIN_FAILED_MESSAGE`` (no user enumeration).
"""

from __future__ import annotations

from typing import Any

import jwt
import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.controllers import CookieController
from streamlit_authenticator.models.cookie_model import CookieModel
from streamlit_authenticator.utilities import LoginError

from app.runtime import ACTOR_KEY, session_scope
from app.widgets import md_escape
from db.settings import DEFAULT_COOKIE_KEY, Settings, get_settings
from domain.accounts import service as accounts
from domain.accounts.dto import UserDTO
from domain.actor import Actor

LOGIN_FORM_KEY = "login_form"
USERNAME_KEY = "login_username"
PASSWORD_KEY = "login_password"
SUBMIT_KEY = "login_submit"
LOGOUT_KEY = "logout_button"
LOGIN_ERROR_KEY = "login_error"
LOGOUT_REQUESTED_KEY = "_logout_requested"
COOKIE_SET_PENDING = "_auth_cookie_set_pending"
COOKIE_DELETE_PENDING = "_auth_cookie_delete_pending"
AUTHENTICATOR_KEYS = ("name", "username", "authentication_status", "email", "roles")
SESSION_VERSION_KEY = "_session_version"
PASSWORD_CHANGE_KEY = "_must_change_password"
SESSION_VERSION_CLAIM = "sv"
COOKIE_KEY_REFUSAL = (
    "Refusing to start: the login-cookie key is the public default. Set a secret "
    "`cookie_key` in .streamlit/secrets.toml or the COOKIE_KEY environment variable "
    "(or run with DEMO_MODE=true)."
)


def cookie_key(settings: Settings | None = None) -> str:
    """The secret that signs the login cookie: ``st.secrets["cookie_key"]`` when a secrets
    file provides it, else ``settings.cookie_key`` (env ``COOKIE_KEY``)."""
    settings = settings or get_settings()
    key: Any = None
    try:
        if st.secrets.load_if_toml_exists():
            key = st.secrets.get("cookie_key")
    except (FileNotFoundError, KeyError, AttributeError):
        key = None
    return str(key) if key else settings.cookie_key


def cookie_key_problem(settings: Settings, key: str) -> str | None:
    """Why the app must not start with ``key`` (None when it may): outside demo mode the
    public default key would let anyone forge a login cookie."""
    if not settings.demo_mode and key == DEFAULT_COOKIE_KEY:
        return COOKIE_KEY_REFUSAL
    return None


def _encode_cookie_token(self: CookieModel) -> str:
    """streamlit-authenticator's signed cookie token (username, expiry) plus the logged-in
    user's ``session_version`` (claim ``sv``), so a stale cookie can be refused."""
    return jwt.encode(
        {
            "username": st.session_state["username"],
            "exp_date": self.exp_date,
            SESSION_VERSION_CLAIM: int(st.session_state.get(SESSION_VERSION_KEY) or 0),
        },
        self.cookie_key,
        algorithm="HS256",
    )


CookieModel._token_encode = _encode_cookie_token  # type: ignore[method-assign]


def _make_authenticator(settings: Settings, key: str) -> stauth.Authenticate:
    """A streamlit-authenticator instance with a credentials dict fresh from the DB."""
    with session_scope(readonly=True) as s:
        credentials = accounts.credentials_for_authenticator(s)
    return stauth.Authenticate(
        credentials,
        settings.cookie_name,
        key,
        settings.cookie_expiry_days,
        auto_hash=False,
        login_sleep_time=0,
    )


def _set_logged_in(user: UserDTO) -> Actor:
    actor = user.as_actor()
    st.session_state[ACTOR_KEY] = actor
    st.session_state["authentication_status"] = True
    st.session_state["username"] = user.username
    st.session_state["name"] = user.full_name
    st.session_state["email"] = user.email
    st.session_state["roles"] = [user.role]
    st.session_state["logout"] = False
    st.session_state[SESSION_VERSION_KEY] = user.session_version
    st.session_state[PASSWORD_CHANGE_KEY] = user.must_change_password
    return actor


def password_change_required() -> bool:
    """True while the logged-in user still has a password an admin set (new user, reset):
    the menu then holds only My account (``app.nav.pages_for``), so no other page runs."""
    return bool(st.session_state.get(PASSWORD_CHANGE_KEY))


def adopt_session_version(user: UserDTO) -> None:
    """Keep THIS session logged in after its user changed their own password: take the new
    ``session_version`` and re-write the login cookie with it. Every other session of the
    user still carries the old version and is logged out on its next run."""
    st.session_state[SESSION_VERSION_KEY] = user.session_version
    st.session_state[PASSWORD_CHANGE_KEY] = user.must_change_password
    _want_cookie("set")


def _clear_login_state() -> None:
    st.session_state.pop(ACTOR_KEY, None)
    st.session_state.pop(SESSION_VERSION_KEY, None)
    st.session_state.pop(PASSWORD_CHANGE_KEY, None)
    for key in AUTHENTICATOR_KEYS:
        st.session_state[key] = None


def _request_logout() -> None:
    st.session_state[LOGOUT_REQUESTED_KEY] = True


def _do_logout(authenticator: stauth.Authenticate) -> None:
    actor = st.session_state.get(ACTOR_KEY)
    if isinstance(actor, Actor):
        with session_scope() as s:
            accounts.record_logout(s, actor)
    # Clears its session keys and sets st.session_state["logout"] (no cookie re-auth in this
    # session any more); the cookie itself is deleted by _sync_cookie.
    authenticator.authentication_controller.logout()
    st.session_state["logout"] = True
    _clear_login_state()
    _want_cookie("delete")


def _want_cookie(action: str) -> None:
    """Ask ``_sync_cookie`` to write (``"set"``) or delete (``"delete"``) the login cookie."""
    other = COOKIE_DELETE_PENDING if action == "set" else COOKIE_SET_PENDING
    st.session_state.pop(other, None)
    st.session_state[COOKIE_SET_PENDING if action == "set" else COOKIE_DELETE_PENDING] = True


def _sync_cookie(settings: Settings, key: str, controller: CookieController | None) -> None:
    """Render the pending cookie write/delete on every run until the browser confirms it.

    extra-streamlit-components' cookie component reports back (its ``getAll`` value, then the
    ``set``/``delete`` result), and each report reruns the script; a component rendered only
    once can be unmounted by that rerun before its JavaScript ran. So the request is rendered
    again on each run until its component value (session key ``"set"`` / ``"delete"``) is True.
    At most one ``CookieController`` is rendered per run (its component keys are fixed).
    """
    for pending, widget_key in ((COOKIE_SET_PENDING, "set"), (COOKIE_DELETE_PENDING, "delete")):
        if not st.session_state.get(pending):
            continue
        if st.session_state.get(widget_key) is True:
            st.session_state.pop(pending, None)
            continue
        if controller is None:
            controller = CookieController(settings.cookie_name, key, settings.cookie_expiry_days)
        if widget_key == "set":
            controller.set_cookie()
        else:
            controller.delete_cookie()


def _login_cookie_present(settings: Settings) -> bool:
    """True when the browser sent our login cookie (checked before building the
    authenticator, whose cookie component costs a rerun)."""
    return settings.cookie_name in st.context.cookies


def _still_active(actor: Actor) -> bool:
    """True while the user row is active and its ``session_version`` is this session's
    (the row's ``must_change_password`` is taken over on the way)."""
    if actor.user_id is None:
        return False
    with session_scope(readonly=True) as s:
        user = accounts.user_by_id(s, actor.user_id)
    if user is None or not user.active:
        return False
    st.session_state[PASSWORD_CHANGE_KEY] = user.must_change_password
    return user.session_version == st.session_state.get(SESSION_VERSION_KEY)


def _from_cookie(authenticator: stauth.Authenticate) -> Actor | None:
    """Re-authenticate from a valid cookie (only active, unlocked users are in the dict)."""
    try:
        # Returns a tuple only while unauthenticated; the outcome is in session state.
        authenticator.login(location="unrendered")
    except LoginError:
        # Signed cookie of a user that is now inactive, locked or gone.
        _clear_login_state()
        _want_cookie("delete")
        return None
    status = st.session_state.get("authentication_status")
    username = st.session_state.get("username")
    if not status or not username:
        return None
    token = authenticator.cookie_controller.get_cookie() or {}
    with session_scope(readonly=True) as s:
        user = accounts.user_by_username(s, username)
    if user is None or not user.active:
        _clear_login_state()
        return None
    if int(token.get(SESSION_VERSION_CLAIM) or 0) != user.session_version:
        # Issued before a password change (or role change): log in again.
        authenticator.authentication_controller.logout()
        st.session_state["logout"] = True
        _clear_login_state()
        _want_cookie("delete")
        return None
    return _set_logged_in(user)


def _demo_hint() -> None:
    try:
        from db.reference import DEMO_USERS  # type: ignore[import-not-found]
    except ImportError:
        return
    rows = []
    for u in DEMO_USERS:
        get = u.get if isinstance(u, dict) else lambda k, _u=u: getattr(_u, k, "")
        rows.append(
            {
                "username": get("username"),
                "password": get("password"),
                "role": get("role"),
                "description": get("description"),
            }
        )
    if rows:
        with st.expander("Demo logins"):
            st.caption("Demo mode: these accounts exist in the demo database only.")
            st.dataframe(rows, hide_index=True)


def _on_login_submit() -> None:
    """Form callback: check the credentials and record the outcome in session state.

    Runs before the script body, so no rerun can interrupt it between the committed login
    (counter reset, audit row) and the session becoming logged in.
    """
    username = st.session_state.get(USERNAME_KEY) or ""
    password = st.session_state.get(PASSWORD_KEY) or ""
    with session_scope() as s:  # commits the failure counter too
        result = accounts.authenticate(s, username=username, password=password)
    if result.ok and result.user is not None:
        st.session_state.pop(LOGIN_ERROR_KEY, None)
        _set_logged_in(result.user)
        _want_cookie("set")
    else:
        st.session_state[LOGIN_ERROR_KEY] = result.message


def _login_form(settings: Settings) -> Actor | None:
    """Render the login form; the submit is handled by ``_on_login_submit``.

    Returns the actor when the callback of this run logged the user in, else None.
    """
    actor = st.session_state.get(ACTOR_KEY)
    if isinstance(actor, Actor):
        return actor
    st.title("ChargeOps")
    with st.form(LOGIN_FORM_KEY, clear_on_submit=True):
        st.subheader("Log in")
        st.text_input("Username", key=USERNAME_KEY, autocomplete="username")
        st.text_input(
            "Password", type="password", key=PASSWORD_KEY, autocomplete="current-password"
        )
        st.form_submit_button("Log in", key=SUBMIT_KEY, type="primary", on_click=_on_login_submit)
    # Kept (not popped) until the next submit: a rerun may interrupt this run before it shows.
    error = st.session_state.get(LOGIN_ERROR_KEY)
    if error:
        st.error(error)
    if settings.demo_mode:
        _demo_hint()
    return None


def require_login() -> Actor:
    """The logged-in user's ``Actor``; renders the login form and stops the script otherwise.

    Also handles a pending logout, and refuses to run (``st.error`` + ``st.stop``) outside
    demo mode when the cookie key is the public default.
    """
    settings = get_settings()
    key = cookie_key(settings)
    problem = cookie_key_problem(settings, key)
    if problem:
        st.error(problem)
        st.stop()

    logout_requested = bool(st.session_state.pop(LOGOUT_REQUESTED_KEY, False))
    actor = st.session_state.get(ACTOR_KEY)
    if not logout_requested and isinstance(actor, Actor):
        if _still_active(actor):
            _sync_cookie(settings, key, None)
            return actor
        logout_requested = True

    # streamlit-authenticator renders its cookie component whenever it is constructed, and
    # that component's first report reruns the script; a rerun racing the login submit can
    # lose it. So it is only built when there is a cookie to check or a logout to do.
    authenticator = (
        _make_authenticator(settings, key)
        if logout_requested or _login_cookie_present(settings)
        else None
    )
    if authenticator is not None and logout_requested:
        _do_logout(authenticator)
    elif authenticator is not None:
        actor = _from_cookie(authenticator)
        if actor is not None:
            _sync_cookie(settings, key, authenticator.cookie_controller)
            return actor
    actor = _login_form(settings)
    _sync_cookie(settings, key, authenticator.cookie_controller if authenticator else None)
    if actor is None:
        _hide_navigation()
        st.stop()
    return actor


def _login_placeholder() -> None:
    """Body of the only page a logged-out visitor has (the login form is the gate itself)."""


def _hide_navigation() -> None:
    """Replace the previous user's page menu with a hidden one-page menu (after logout the
    sidebar must not keep showing the pages of the user who just left)."""
    st.navigation([st.Page(_login_placeholder, title="Log in", default=True)], position="hidden")


def render_sidebar_user(actor: Actor) -> None:
    """Sidebar block: the user's name and role, and a one-click logout button."""
    name = st.session_state.get("name") or actor.username
    with st.sidebar:
        st.markdown(f"**{md_escape(name)}**")
        st.caption(f"{md_escape(actor.username)} · {actor.role.replace('_', ' ')}")
        st.button("Log out", key=LOGOUT_KEY, on_click=_request_logout, width="stretch")
