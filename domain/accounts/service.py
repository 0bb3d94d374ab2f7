"""accounts commands: login with database-enforced lockout, and user administration.

Login (``authenticate``) never raises for a bad login: it returns a ``LoginResult`` so that the
caller's transaction commits the failed-login counter, the lock and the audit row.

Message policy (user enumeration): every refused login gets the SAME message,
``LOGIN_FAILED_MESSAGE`` ("Invalid username or password, or the account is locked"), whether
the username is unknown, the password wrong, the account inactive or locked. The precise reason
is kept in ``LoginResult.reason`` and in the ``auth.login_failed`` audit row, for admins only.

Admin commands follow the domain rules: permission first, validate, change rows, flush, audit;
never commit.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.settings import get_settings
from db.types import utcnow
from domain import audit
from domain.accounts import passwords
from domain.accounts.dto import UserDTO, actor_for
from domain.accounts.models import AppUser, FieldTeam, Oem, Zone
from domain.actor import ROLES, Actor
from domain.errors import Conflict, NotFound, PermissionDenied, ValidationError
from domain.fields import FieldError, normalise_email, normalise_phone
from domain.permissions import require

LOGIN_FAILED_MESSAGE = "Invalid username or password, or the account is locked"
"""The one message shown for every refused login (see the module docstring)."""

USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")
PASSWORD_MIN_LENGTH = 12
PASSWORD_MIN_DISTINCT = 5
PASSWORD_MAX_BYTES = 72  # bcrypt ignores (bcrypt>=5: refuses) anything longer
PASSWORD_HASH_ROUNDS = passwords.BCRYPT_ROUNDS
"""bcrypt cost used for new hashes; tests may lower it (module attribute read at call time)."""

COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "12345678910",
        "0123456789",
        "1111111111",
        "0000000000",
        "1q2w3e4r5t",
        "qwertyuiop",
        "qwerty1234",
        "qwerty12345",
        "asdfghjkl1",
        "password12",
        "password123",
        "password1234",
        "passw0rd123",
        "iloveyou12",
        "welcome123",
        "welcome@123",
        "admin12345",
        "admin@1234",
        "administrator",
        "letmein123",
        "abc1234567",
        "abcdefghij",
        "india@1234",
        "india12345",
        "chargeops1",
        "chargeops123",
        "changeme123",
        "p@ssw0rd123",
        "football123",
        "sunshine12",
        "princess12",
    }
)
"""Lower-cased passwords refused whatever the length rule says (local additions to the
30,000-entry list of ``common_passwords``)."""

_ENTITY = "app_user"


@dataclass(frozen=True)
class LoginResult:
    """Outcome of one login attempt.

    Attributes:
        ok: True when the user may log in.
        user: the user (after the update) when ``ok``; None otherwise.
        message: text safe to show; ``LOGIN_FAILED_MESSAGE`` for every failure.
        reason: ``ok``, ``unknown_user``, ``bad_password``, ``inactive`` or ``locked``
            (never shown to the person logging in).
    """

    ok: bool
    user: UserDTO | None
    message: str
    reason: str


# --------------------------------------------------------------------------------------------
# login


def _normalise_username(username: str | None) -> str:
    return (username or "").strip().lower()


def _audit_actor(user: AppUser | None, attempted: str) -> Actor:
    if user is not None:
        return actor_for(user)
    return Actor(user_id=None, username=(attempted or "(blank)")[:64], role="anonymous")


def authenticate(
    session: Session, *, username: str, password: str, now: datetime | None = None
) -> LoginResult:
    """Check a username and password against ``app_user``, enforcing the lockout in the DB.

    Rules (settings ``lockout_attempts`` = 5, ``lockout_minutes`` = 15):

    * the username is matched stripped and lower-cased;
    * an unknown username still costs one bcrypt check (no timing oracle);
    * while ``locked_until`` is in the future every attempt is refused, even with the right
      password, and counted in ``failed_login_count``;
    * once a lock has expired the counter starts again from 0;
    * a wrong password (or an inactive account) increments ``failed_login_count``; reaching
      ``lockout_attempts`` sets ``locked_until = now + lockout_minutes``;
    * success resets ``failed_login_count`` to 0, clears the lock and sets ``last_login_at``.

    The user row is read ``FOR UPDATE`` (PostgreSQL) so concurrent failures are all counted;
    SQLite's ``BEGIN IMMEDIATE`` serialises writers anyway. Every attempt writes an audit event
    (``auth.login_succeeded`` / ``auth.login_failed`` with the reason), entity ``app_user``.

    Args:
        username / password: as typed.
        now: aware UTC time of the attempt (default: the clock); tests pass it.

    Returns:
        A ``LoginResult``; never raises for a refused login, so the caller must COMMIT the
        session either way (the failure counter and audit row must persist).
    """
    settings = get_settings()
    now = now or utcnow()
    name = _normalise_username(username)
    password = password or ""
    user = None
    if name:
        user = session.execute(
            select(AppUser).where(AppUser.username == name).with_for_update()
        ).scalar_one_or_none()

    if user is None:
        passwords.verify_password(password, None)
        audit.record(
            session,
            _audit_actor(None, name),
            "auth.login_failed",
            entity_type=_ENTITY,
            after={"username": name[:64], "reason": "unknown_user"},
        )
        session.flush()
        return LoginResult(False, None, LOGIN_FAILED_MESSAGE, "unknown_user")

    if user.locked_until is not None and user.locked_until <= now:
        # The lock has expired: a fresh series of attempts starts.
        user.locked_until = None
        user.failed_login_count = 0

    password_ok = passwords.verify_password(password, user.password_hash)
    if user.locked_until is not None:
        reason = "locked"
    elif not user.active:
        reason = "inactive"
    elif not password_ok:
        reason = "bad_password"
    else:
        reason = "ok"

    if reason == "ok":
        before = {"failed_login_count": user.failed_login_count}
        user.failed_login_count = 0
        user.locked_until = None
        user.last_login_at = now
        session.flush()
        audit.record(
            session,
            _audit_actor(user, name),
            "auth.login_succeeded",
            entity_type=_ENTITY,
            entity_id=user.id,
            before=before,
            after={"failed_login_count": 0, "last_login_at": now},
        )
        session.flush()
        return LoginResult(True, UserDTO.from_row(user), "", "ok")

    before = {"failed_login_count": user.failed_login_count, "locked_until": user.locked_until}
    user.failed_login_count += 1
    if user.locked_until is None and user.failed_login_count >= settings.lockout_attempts:
        user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
    session.flush()
    audit.record(
        session,
        _audit_actor(user, name),
        "auth.login_failed",
        entity_type=_ENTITY,
        entity_id=user.id,
        before=before,
        after={
            "reason": reason,
            "failed_login_count": user.failed_login_count,
            "locked_until": user.locked_until,
        },
    )
    session.flush()
    return LoginResult(False, None, LOGIN_FAILED_MESSAGE, reason)


def record_logout(session: Session, actor: Actor) -> None:
    """Write an ``auth.logout`` audit event for ``actor`` (no permission needed)."""
    audit.record(session, actor, "auth.logout", entity_type=_ENTITY, entity_id=actor.user_id)
    session.flush()


def credentials_for_authenticator(session: Session, now: datetime | None = None) -> dict:
    """The streamlit-authenticator credentials dict, built fresh from ``app_user``.

    Only ACTIVE users that are NOT LOCKED at ``now`` are included, so a cookie of a
    deactivated or locked user cannot re-authenticate. Build a new dict on every script run:
    streamlit-authenticator mutates it.

    Returns:
        ``{"usernames": {username: {"email", "first_name", "last_name", "password" (bcrypt
        hash), "roles": [role], "failed_login_attempts": int, "logged_in": False}}}``
    """
    now = now or utcnow()
    rows = session.execute(
        select(AppUser)
        .where(
            AppUser.active.is_(True),
            or_(AppUser.locked_until.is_(None), AppUser.locked_until <= now),
        )
        .order_by(AppUser.username)
    ).scalars()
    usernames: dict[str, dict[str, Any]] = {}
    for u in rows:
        first, _, last = u.full_name.partition(" ")
        usernames[u.username] = {
            "email": u.email,
            "first_name": first,
            "last_name": last,
            "password": u.password_hash,
            "roles": [u.role],
            "failed_login_attempts": u.failed_login_count,
            "logged_in": False,
        }
    return {"usernames": usernames}


def user_by_username(session: Session, username: str) -> UserDTO | None:
    """The user named ``username`` (stripped, lower-cased), or None."""
    name = _normalise_username(username)
    if not name:
        return None
    u = session.execute(select(AppUser).where(AppUser.username == name)).scalar_one_or_none()
    return UserDTO.from_row(u) if u is not None else None


def user_by_id(session: Session, user_id: uuid.UUID) -> UserDTO | None:
    """The user with id ``user_id``, or None."""
    u = session.get(AppUser, user_id)
    return UserDTO.from_row(u) if u is not None else None


# --------------------------------------------------------------------------------------------
# validation helpers


def validate_password(
    password: str, *, username: str | None = None, field: str = "password"
) -> str:
    """Check a new password.

    Rules: at least ``PASSWORD_MIN_LENGTH`` (12) characters and at most 72 bytes (bcrypt);
    at least ``PASSWORD_MIN_DISTINCT`` (5) different characters (no ``"aaaaaaaaaaaa"`` or
    ``"121212121212"``); not a common password nor a decorated one
    (``passwords.is_common_password``: the 30,000 most common, plus ``COMMON_PASSWORDS``); not
    containing the username.

    Raises:
        ValidationError: on ``field``.
    """
    if password is None or len(password) < PASSWORD_MIN_LENGTH:
        raise ValidationError({field: f"must be at least {PASSWORD_MIN_LENGTH} characters"})
    if len(password.encode("utf-8")) > PASSWORD_MAX_BYTES:
        raise ValidationError({field: f"must be at most {PASSWORD_MAX_BYTES} bytes"})
    if len(set(password.lower())) < PASSWORD_MIN_DISTINCT:
        raise ValidationError(
            {field: f"must use at least {PASSWORD_MIN_DISTINCT} different characters"}
        )
    if passwords.is_common_password(password, COMMON_PASSWORDS):
        raise ValidationError({field: "is too common; choose another"})
    name = (username or "").strip().lower()
    if name and (password.strip().lower() == name or (len(name) >= 4 and name in password.lower())):
        raise ValidationError({field: "must not contain the username"})
    return password


def _normalise_email(email: str, errors: dict[str, str]) -> str:
    try:
        norm = normalise_email(email)
    except FieldError as exc:
        errors["email"] = str(exc)
        return email
    if norm is None:
        errors["email"] = "email is required"
        return ""
    return norm


def _normalise_phone(phone: str | None, errors: dict[str, str]) -> str | None:
    try:
        return normalise_phone(phone) if phone and phone.strip() else None
    except FieldError as exc:
        errors["phone"] = str(exc)
        return None


def _user_snapshot(u: AppUser) -> dict[str, Any]:
    return {
        "username": u.username,
        "full_name": u.full_name,
        "email": u.email,
        "phone": u.phone,
        "role": u.role,
        "oem_id": u.oem_id,
        "zone_id": u.zone_id,
        "team_id": u.team_id,
        "active": u.active,
        "failed_login_count": u.failed_login_count,
        "locked_until": u.locked_until,
    }


def _check_profile(
    session: Session,
    errors: dict[str, str],
    *,
    full_name: str,
    email: str,
    phone: str | None,
    role: str,
    oem_id: uuid.UUID | None,
    zone_id: uuid.UUID | None,
    team_id: uuid.UUID | None,
) -> tuple[str, str, str | None, FieldTeam | None]:
    """Validate the profile fields shared by create and update; reasons go to ``errors``.

    Returns:
        (full_name stripped, normalised email, E.164 phone or None, the team row or None).
    """
    full_name = (full_name or "").strip()
    if not full_name:
        errors["full_name"] = "is required"
    elif len(full_name) > 120:
        errors["full_name"] = "must be at most 120 characters"
    email_norm = _normalise_email(email, errors)
    phone_norm = _normalise_phone(phone, errors)
    if role not in ROLES:
        errors["role"] = f"must be one of {', '.join(ROLES)}"
    if role == "oem_viewer":
        if oem_id is None:
            errors["oem_id"] = "is required for an OEM viewer"
        elif session.get(Oem, oem_id) is None:
            errors["oem_id"] = "unknown OEM"
    elif oem_id is not None and session.get(Oem, oem_id) is None:
        errors["oem_id"] = "unknown OEM"
    team = None
    if team_id is not None:
        team = session.get(FieldTeam, team_id)
        if team is None:
            errors["team_id"] = "unknown team"
    if role == "field_engineer" and team_id is None:
        errors["team_id"] = "is required for a field engineer"
    if zone_id is not None and session.get(Zone, zone_id) is None:
        errors["zone_id"] = "unknown zone"
    return full_name, email_norm, phone_norm, team


def _get_user(session: Session, user_id: uuid.UUID) -> AppUser:
    u = session.get(AppUser, user_id, with_for_update=True)
    if u is None:
        raise NotFound(f"user {user_id} not found")
    return u


# --------------------------------------------------------------------------------------------
# admin commands


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    full_name: str,
    email: str,
    phone: str | None,
    role: str,
    password: str,
    oem_id: uuid.UUID | None = None,
    zone_id: uuid.UUID | None = None,
    team_id: uuid.UUID | None = None,
) -> UserDTO:
    """Create a login (permission ``user.create``).

    Validation: ``username`` stripped and lower-cased, matching ``^[a-z][a-z0-9._-]{2,63}$``
    and unique; ``full_name`` 1-120 characters; ``email`` syntactically valid (normalised,
    deliverability not checked); ``phone`` optional, an Indian (default region IN) number
    stored as E.164; ``role`` one of ``ROLES``; ``oem_viewer`` needs an existing ``oem_id``;
    ``field_engineer`` needs an existing ``team_id``; the zone defaults to the team's zone;
    ``password`` per ``validate_password`` (hashed with bcrypt). The admin chose that
    password, so the user must replace it at their first login (``must_change_password``).

    Raises:
        PermissionDenied: not an admin.
        ValidationError: field -> reason for every bad field.
        Conflict: the username is already taken.
    """
    require(actor, "user.create")
    errors: dict[str, str] = {}
    name = _normalise_username(username)
    if not USERNAME_RE.match(name):
        errors["username"] = (
            "3-64 characters: a letter, then lower-case letters, digits, '.', '_' or '-'"
        )
    full_name, email_norm, phone_norm, team = _check_profile(
        session,
        errors,
        full_name=full_name,
        email=email,
        phone=phone,
        role=role,
        oem_id=oem_id,
        zone_id=zone_id,
        team_id=team_id,
    )
    try:
        validate_password(password, username=name)
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)

    if session.execute(select(AppUser.id).where(AppUser.username == name)).first():
        raise Conflict(f"username '{name}' is already taken")
    if zone_id is None and team is not None:
        zone_id = team.zone_id
    u = AppUser(
        username=name,
        full_name=full_name,
        email=email_norm,
        phone=phone_norm,
        role=role,
        oem_id=oem_id,
        zone_id=zone_id,
        team_id=team_id,
        password_hash=passwords.hash_password(password, PASSWORD_HASH_ROUNDS),
        active=True,
        failed_login_count=0,
        password_changed_at=utcnow(),
        must_change_password=True,
    )
    try:
        with session.begin_nested():
            session.add(u)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"username '{name}' is already taken") from exc
    audit.record(
        session, actor, "user.create", entity_type=_ENTITY, entity_id=u.id, after=_user_snapshot(u)
    )
    session.flush()
    return UserDTO.from_row(u)


def update_user(
    session: Session,
    actor: Actor,
    *,
    user_id: uuid.UUID,
    full_name: str,
    email: str,
    phone: str | None,
    role: str,
    oem_id: uuid.UUID | None = None,
    zone_id: uuid.UUID | None = None,
    team_id: uuid.UUID | None = None,
    active: bool | None = None,
) -> UserDTO:
    """Edit a login's profile, role, scope and (optionally) whether it is active (permission
    ``user.update``); the username and password are not changed here. Validation as in
    ``create_user``. A change of role, OEM, zone or team bumps ``session_version``: the user's
    open sessions are logged out, so no session keeps acting with the old rights. Admins
    cannot change their own role nor deactivate themselves.

    Args:
        active: None keeps the current state; a change also needs ``user.deactivate`` or
            ``user.reactivate`` and follows ``deactivate_user`` / ``reactivate_user`` (a
            reactivation clears any lock). Written in the same ``user.update`` audit event
            (``before``/``after`` snapshots hold ``active``).

    Raises:
        PermissionDenied: not an admin.
        NotFound: no such user.
        ValidationError: field -> reason for every bad field.
    """
    require(actor, "user.update")
    u = _get_user(session, user_id)
    activity_changed = active is not None and active != u.active
    if activity_changed:
        require(actor, "user.reactivate" if active else "user.deactivate")
    errors: dict[str, str] = {}
    full_name, email_norm, phone_norm, team = _check_profile(
        session,
        errors,
        full_name=full_name,
        email=email,
        phone=phone,
        role=role,
        oem_id=oem_id,
        zone_id=zone_id,
        team_id=team_id,
    )
    if actor.user_id == u.id and role != u.role:
        errors["role"] = "you cannot change your own role"
    if activity_changed and not active and actor.user_id == u.id:
        errors["active"] = "you cannot deactivate your own account"
    if errors:
        raise ValidationError(errors)
    if zone_id is None and team is not None:
        zone_id = team.zone_id
    before = _user_snapshot(u)
    scope_changed = (u.role, u.oem_id, u.zone_id, u.team_id) != (role, oem_id, zone_id, team_id)
    u.full_name = full_name
    u.email = email_norm
    u.phone = phone_norm
    u.role = role
    u.oem_id = oem_id
    u.zone_id = zone_id
    u.team_id = team_id
    if scope_changed:
        u.session_version = (u.session_version or 0) + 1
    if activity_changed:
        u.active = bool(active)
        if active:
            u.failed_login_count = 0
            u.locked_until = None
    session.flush()
    audit.record(
        session,
        actor,
        "user.update",
        entity_type=_ENTITY,
        entity_id=u.id,
        before=before,
        after=_user_snapshot(u),
    )
    session.flush()
    return UserDTO.from_row(u)


def _set_active(session: Session, actor: Actor, user_id: uuid.UUID, active: bool) -> UserDTO:
    require(actor, "user.deactivate" if not active else "user.reactivate")
    if not active and actor.user_id == user_id:
        raise ValidationError({"user_id": "you cannot deactivate your own account"})
    u = _get_user(session, user_id)
    before = {"active": u.active}
    u.active = active
    if active:
        u.failed_login_count = 0
        u.locked_until = None
    session.flush()
    audit.record(
        session,
        actor,
        "user.reactivate" if active else "user.deactivate",
        entity_type=_ENTITY,
        entity_id=u.id,
        before=before,
        after={"active": active},
    )
    session.flush()
    return UserDTO.from_row(u)


def deactivate_user(session: Session, actor: Actor, *, user_id: uuid.UUID) -> UserDTO:
    """Deactivate a login (permission ``user.deactivate``): it can no longer log in, and a
    login cookie of it no longer re-authenticates. Rows referring to the user are kept.

    Raises:
        PermissionDenied, NotFound; ValidationError when admins try to deactivate themselves.
    """
    return _set_active(session, actor, user_id, False)


def reactivate_user(session: Session, actor: Actor, *, user_id: uuid.UUID) -> UserDTO:
    """Reactivate a login (permission ``user.reactivate``); also clears any lock.

    Raises:
        PermissionDenied, NotFound.
    """
    return _set_active(session, actor, user_id, True)


def reset_password(
    session: Session, actor: Actor, *, user_id: uuid.UUID, new_password: str
) -> UserDTO:
    """Set a new password for a user (permission ``user.reset_password``); also unlocks the
    account (failed count 0, no lock) and bumps ``session_version``, so every session and
    login cookie of the user must log in again. The password is a temporary one: the user
    must replace it at the next login (``must_change_password``). The audit event never
    contains the password or hash.

    Raises:
        PermissionDenied, NotFound, ValidationError (``new_password``).
    """
    require(actor, "user.reset_password")
    u = _get_user(session, user_id)
    validate_password(new_password, username=u.username, field="new_password")
    u.password_hash = passwords.hash_password(new_password, PASSWORD_HASH_ROUNDS)
    u.password_changed_at = utcnow()
    u.session_version = (u.session_version or 0) + 1  # logs out every session of the user
    before = {
        "failed_login_count": u.failed_login_count,
        "locked_until": u.locked_until,
        "must_change_password": u.must_change_password,
    }
    u.failed_login_count = 0
    u.locked_until = None
    u.must_change_password = True
    session.flush()
    audit.record(
        session,
        actor,
        "user.reset_password",
        entity_type=_ENTITY,
        entity_id=u.id,
        before=before,
        after={
            "password_changed": True,
            "failed_login_count": 0,
            "locked_until": None,
            "must_change_password": True,
        },
    )
    session.flush()
    return UserDTO.from_row(u)


#: how long a lock without an end date lasts: in practice until an admin unlocks
LOCK_INDEFINITELY = timedelta(days=100 * 365)


def lock_user(
    session: Session,
    actor: Actor,
    *,
    user_id: uuid.UUID,
    reason: str,
    until: datetime | None = None,
    now: datetime | None = None,
) -> UserDTO:
    """Lock an account by hand (permission ``user.lock``), e.g. a lost phone or a leaver whose
    handover is pending: every login is refused until ``until`` (aware UTC; None: until an
    admin unlocks it) and ``session_version`` is bumped, so open sessions and login cookies
    end at their next rerun. ``unlock_user`` lifts it. Audited as ``user.lock`` with the
    reason.

    Raises:
        PermissionDenied: without ``user.lock``; also an admin locking their own account.
        NotFound: no such user.
        ValidationError: ``reason`` empty; ``until`` not in the future.
    """
    require(actor, "user.lock")
    if actor.user_id == user_id:
        raise PermissionDenied("you cannot lock your own account", actor=actor)
    errors: dict[str, str] = {}
    text = (reason or "").strip()
    if not text:
        errors["reason"] = "say why the account is locked"
    moment = now or utcnow()
    if until is not None and until <= moment:
        errors["until"] = "must be in the future"
    if errors:
        raise ValidationError(errors)
    u = _get_user(session, user_id)
    before = {"locked_until": u.locked_until, "session_version": u.session_version}
    u.locked_until = until or moment + LOCK_INDEFINITELY
    u.session_version = (u.session_version or 0) + 1  # logs out every open session
    session.flush()
    audit.record(
        session,
        actor,
        "user.lock",
        entity_type=_ENTITY,
        entity_id=u.id,
        before=before,
        after={
            "locked_until": u.locked_until,
            "session_version": u.session_version,
            "reason": text,
        },
    )
    session.flush()
    return UserDTO.from_row(u)


def unlock_user(session: Session, actor: Actor, *, user_id: uuid.UUID) -> UserDTO:
    """Clear a lockout (permission ``user.unlock``): failed count 0, ``locked_until`` None.

    Raises:
        PermissionDenied, NotFound.
    """
    require(actor, "user.unlock")
    u = _get_user(session, user_id)
    before = {"failed_login_count": u.failed_login_count, "locked_until": u.locked_until}
    u.failed_login_count = 0
    u.locked_until = None
    session.flush()
    audit.record(
        session,
        actor,
        "user.unlock",
        entity_type=_ENTITY,
        entity_id=u.id,
        before=before,
        after={"failed_login_count": 0, "locked_until": None},
    )
    session.flush()
    return UserDTO.from_row(u)


def change_own_password(
    session: Session, actor: Actor, *, current_password: str, new_password: str
) -> UserDTO:
    """Change the acting user's own password (permission ``user.change_own_password``, every
    role). The current password must be right; the new one must pass ``validate_password``
    and differ from the current one. ``session_version`` is bumped: the user's other sessions
    and login cookies are logged out (the returned DTO carries the new version). Clears
    ``must_change_password`` (a temporary password set by an admin is gone).

    Raises:
        PermissionDenied: the system actor (no user row).
        NotFound: the user row is gone.
        ValidationError: ``current_password`` wrong, or ``new_password`` refused.
    """
    require(actor, "user.change_own_password")
    if actor.user_id is None:
        raise PermissionDenied("the system actor has no password", actor=actor)
    u = _get_user(session, actor.user_id)
    if not passwords.verify_password(current_password or "", u.password_hash):
        raise ValidationError({"current_password": "is not correct"})
    validate_password(new_password, username=u.username, field="new_password")
    if new_password == current_password:
        raise ValidationError({"new_password": "must differ from the current password"})
    u.password_hash = passwords.hash_password(new_password, PASSWORD_HASH_ROUNDS)
    u.password_changed_at = utcnow()
    # Every other session and login cookie of the user is now stale; the page that made the
    # change adopts the new version (app.auth.adopt_session_version) and stays logged in.
    u.session_version = (u.session_version or 0) + 1
    was_temporary = bool(u.must_change_password)
    u.must_change_password = False
    session.flush()
    audit.record(
        session,
        actor,
        "user.change_own_password",
        entity_type=_ENTITY,
        entity_id=u.id,
        before={"must_change_password": was_temporary},
        after={"password_changed": True, "must_change_password": False},
    )
    session.flush()
    return UserDTO.from_row(u)
