"""Login with database-enforced lockout (accounts.service.authenticate), on both databases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from db.engine import session_scope
from domain.accounts.models import AppUser, AuditEvent
from domain.accounts.service import (
    LOGIN_FAILED_MESSAGE,
    authenticate,
    credentials_for_authenticator,
    user_by_username,
)
from tests.factories import TEST_PASSWORD, make_user

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


@pytest.fixture
def user_id(engine: Engine):  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        return make_user(s, role="central_ops", username="ravi").id


def _login(engine: Engine, username: str, password: str, now: datetime = T0):  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        return authenticate(s, username=username, password=password, now=now)


def _row(engine: Engine, username: str) -> AppUser:
    with session_scope(engine) as s:
        return s.execute(select(AppUser).where(AppUser.username == username)).scalar_one()


def _audits(engine: Engine, action: str) -> list[AuditEvent]:
    with session_scope(engine) as s:
        return list(s.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def test_success_normalises_username_and_records_login(engine: Engine, user_id) -> None:  # type: ignore[no-untyped-def]
    res = _login(engine, "  RAVI ", TEST_PASSWORD)
    assert res.ok and res.reason == "ok" and res.user is not None
    assert res.user.id == user_id and res.user.role == "central_ops"
    row = _row(engine, "ravi")
    assert row.last_login_at == T0
    ok = _audits(engine, "auth.login_succeeded")
    assert len(ok) == 1 and ok[0].entity_type == "app_user" and ok[0].entity_id == str(user_id)
    assert ok[0].actor_id == user_id


def test_failures_are_committed_and_lock_after_five(engine: Engine, user_id) -> None:  # type: ignore[no-untyped-def]
    for i in range(1, 5):
        res = _login(engine, "ravi", "wrong-password", T0 + timedelta(seconds=i))
        assert not res.ok and res.reason == "bad_password" and res.message == LOGIN_FAILED_MESSAGE
        assert _row(engine, "ravi").failed_login_count == i
        assert _row(engine, "ravi").locked_until is None
    res = _login(engine, "ravi", "wrong-password", T0 + timedelta(seconds=5))
    row = _row(engine, "ravi")
    assert row.failed_login_count == 5
    assert row.locked_until == T0 + timedelta(seconds=5, minutes=15)

    # 6th attempt with the RIGHT password while locked: refused, same message, counted.
    res = _login(engine, "ravi", TEST_PASSWORD, T0 + timedelta(minutes=10))
    assert not res.ok and res.reason == "locked" and res.message == LOGIN_FAILED_MESSAGE
    assert res.user is None
    assert _row(engine, "ravi").failed_login_count == 6
    # The lock is not extended by attempts made while locked.
    assert _row(engine, "ravi").locked_until == T0 + timedelta(seconds=5, minutes=15)

    # Locked users are left out of the authenticator credentials (cookie re-auth refused).
    with session_scope(engine) as s:
        creds = credentials_for_authenticator(s, now=T0 + timedelta(minutes=10))
    assert "ravi" not in creds["usernames"]

    failed = sorted(
        _audits(engine, "auth.login_failed"), key=lambda e: e.after["failed_login_count"]
    )
    assert [e.after["reason"] for e in failed] == ["bad_password"] * 5 + ["locked"]
    assert [e.after["failed_login_count"] for e in failed] == [1, 2, 3, 4, 5, 6]
    assert all(e.entity_id == str(user_id) for e in failed)

    # After the 15 minutes the right password works and the counter is reset.
    res = _login(engine, "ravi", TEST_PASSWORD, T0 + timedelta(minutes=16))
    assert res.ok
    row = _row(engine, "ravi")
    assert row.failed_login_count == 0 and row.locked_until is None
    assert row.last_login_at == T0 + timedelta(minutes=16)
    assert len(_audits(engine, "auth.login_succeeded")) == 1


def test_success_resets_counter(engine: Engine, user_id) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        _login(engine, "ravi", "nope-nope-nope")
    assert _row(engine, "ravi").failed_login_count == 3
    assert _login(engine, "ravi", TEST_PASSWORD).ok
    assert _row(engine, "ravi").failed_login_count == 0
    # ... so four more failures do not lock
    for _ in range(4):
        _login(engine, "ravi", "nope-nope-nope")
    assert _row(engine, "ravi").locked_until is None


def test_expired_lock_starts_a_fresh_series(engine: Engine, user_id) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        _login(engine, "ravi", "bad-password", T0 + timedelta(seconds=i))
    assert _row(engine, "ravi").locked_until is not None
    res = _login(engine, "ravi", "bad-password", T0 + timedelta(minutes=20))
    assert res.reason == "bad_password"
    row = _row(engine, "ravi")
    assert row.failed_login_count == 1 and row.locked_until is None


def test_unknown_and_inactive_users_get_the_same_message(engine: Engine, user_id) -> None:  # type: ignore[no-untyped-def]
    unknown = _login(engine, "nobody", TEST_PASSWORD)
    wrong = _login(engine, "ravi", "not-the-password")
    assert not unknown.ok and unknown.reason == "unknown_user"
    assert unknown.message == wrong.message == LOGIN_FAILED_MESSAGE
    blank = _login(engine, "   ", "")
    assert not blank.ok and blank.message == LOGIN_FAILED_MESSAGE

    with session_scope(engine) as s:
        s.get(AppUser, user_id).active = False
    inactive = _login(engine, "ravi", TEST_PASSWORD)
    assert not inactive.ok and inactive.reason == "inactive"
    assert inactive.message == LOGIN_FAILED_MESSAGE

    failed = _audits(engine, "auth.login_failed")
    reasons = sorted(e.after["reason"] for e in failed)
    assert reasons == ["bad_password", "inactive", "unknown_user", "unknown_user"]
    unknown_rows = [e for e in failed if e.after["reason"] == "unknown_user"]
    assert {e.actor_username for e in unknown_rows} == {"nobody", "(blank)"}
    assert all(e.entity_id is None and e.actor_id is None for e in unknown_rows)


def test_credentials_dict_has_active_unlocked_users_only(engine: Engine) -> None:
    with session_scope(engine) as s:
        make_user(s, role="manager", username="meera")
        gone = make_user(s, role="manager", username="gone")
        gone.active = False
        locked = make_user(s, role="procurement", username="locked")
        locked.locked_until = T0 + timedelta(minutes=5)
        expired = make_user(s, role="procurement", username="expired")
        expired.locked_until = T0 - timedelta(minutes=5)
    with session_scope(engine) as s:
        creds = credentials_for_authenticator(s, now=T0)
        assert user_by_username(s, " Meera ").username == "meera"
        assert user_by_username(s, "ghost") is None
    assert set(creds["usernames"]) == {"meera", "expired"}
    entry = creds["usernames"]["meera"]
    assert entry["roles"] == ["manager"]
    assert entry["password"].startswith("$2")
    assert entry["email"] == "meera@chargeops.example.in"
    assert entry["logged_in"] is False and entry["failed_login_attempts"] == 0
    # a fresh dict on every call (streamlit-authenticator mutates it)
    with session_scope(engine) as s:
        again = credentials_for_authenticator(s, now=T0)
    assert again == creds and again is not creds


def test_concurrent_failures_are_all_counted(engine: Engine, user_id) -> None:  # type: ignore[no-untyped-def]
    n = 8
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            barrier.wait()
            _login(engine, "ravi", "wrong-password-x")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    row = _row(engine, "ravi")
    assert row.failed_login_count == n
    assert row.locked_until is not None
    with session_scope(engine) as s:
        count = s.execute(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "auth.login_failed")
        ).scalar_one()
    assert count == n


# --------------------------------------------------------------------------------------------
# issue 6: bcrypt cost and equal time for unknown user and wrong password


def test_new_hashes_use_bcrypt_cost_12(engine: Engine) -> None:
    from domain.accounts import passwords
    from domain.accounts import service as svc
    from tests.factories import actor_of

    assert passwords.BCRYPT_ROUNDS >= 12 and svc.PASSWORD_HASH_ROUNDS >= 12
    assert passwords.hash_password("Kaveri-river-2026").startswith("$2b$12$")
    assert passwords._DUMMY_HASH.startswith("$2b$12$")
    with session_scope(engine) as s:
        admin = make_user(s, role="admin", username="root")
        created = svc.create_user(
            s,
            actor_of(admin),
            username="new.user",
            full_name="New User",
            email="new@chargeops.example.in",
            phone=None,
            role="manager",
            password="Kaveri-river-2026",
        )
        stored = s.get(AppUser, created.id).password_hash
    assert stored.startswith("$2b$12$")
    assert passwords.verify_password("Kaveri-river-2026", stored)


def test_unknown_user_and_wrong_password_take_about_the_same_time(
    sqlite_engine: Engine,
) -> None:
    """Medians of 10 attempts each, interleaved so machine load hits both alike, within 30%.
    (The time is bcrypt's, not the database's: one database is enough.)"""
    import statistics
    import time

    from domain.accounts.passwords import hash_password

    engine = sqlite_engine
    with session_scope(engine) as s:
        make_user(s, role="manager", username="meera", password_hash=hash_password("Right-1234-pw"))

    def attempt(username: str) -> float:
        start = time.perf_counter()
        res = _login(engine, username, "Wrong-password-1", T0)
        elapsed = time.perf_counter() - start
        assert not res.ok and res.message == LOGIN_FAILED_MESSAGE
        return elapsed

    attempt("nobody")  # first-use costs (pool, statement cache)
    unknown: list[float] = []
    wrong: list[float] = []  # 10 failures lock the account: still the same bcrypt work
    for _ in range(10):
        unknown.append(attempt("nobody"))
        wrong.append(attempt("meera"))
    a, b = statistics.median(unknown), statistics.median(wrong)
    assert abs(a - b) <= 0.3 * max(a, b), (unknown, wrong)
