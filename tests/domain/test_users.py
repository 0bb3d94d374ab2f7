"""User administration commands and queries (accounts.service / accounts.queries)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine, select

from db.engine import session_scope
from domain.accounts import queries
from domain.accounts import service as svc
from domain.accounts.models import AppUser, AuditEvent
from domain.accounts.passwords import verify_password
from domain.errors import Conflict, NotFound, PermissionDenied, ValidationError
from domain.permissions import PERMISSIONS
from tests.factories import TEST_PASSWORD, actor_of, make_oem, make_team, make_user, make_zone

GOOD_PASSWORD = "Kaveri-river-2026"


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(svc, "PASSWORD_HASH_ROUNDS", 4)


@pytest.fixture
def world(engine: Engine) -> dict:
    with session_scope(engine) as s:
        zone = make_zone(s)
        oem = make_oem(s)
        team = make_team(s, zone)
        admin = make_user(s, role="admin", username="root")
        ops = make_user(s, role="central_ops", username="ops")
        return {
            "zone_id": zone.id,
            "oem_id": oem.id,
            "team_id": team.id,
            "admin": actor_of(admin),
            "ops": actor_of(ops),
        }


def _create(engine: Engine, actor, **kw):  # type: ignore[no-untyped-def]
    args = {
        "username": "asha.k",
        "full_name": "Asha K",
        "email": "asha@chargeops.example.in",
        "phone": "98450 12345",
        "role": "central_ops",
        "password": GOOD_PASSWORD,
    }
    args.update(kw)
    with session_scope(engine) as s:
        return svc.create_user(s, actor, **args)


def _audit_actions(engine: Engine, entity_id: uuid.UUID) -> list[str]:
    with session_scope(engine) as s:
        return sorted(
            s.execute(
                select(AuditEvent.action).where(AuditEvent.entity_id == str(entity_id))
            ).scalars()
        )


def test_create_user_normalises_and_audits(engine: Engine, world: dict) -> None:
    u = _create(engine, world["admin"], username="  Asha.K ", email="Asha@ChargeOps.Example.IN")
    assert u.username == "asha.k"
    assert u.phone == "+919845012345"
    assert u.email.endswith("@chargeops.example.in")
    assert u.active and u.failed_login_count == 0
    with session_scope(engine) as s:
        row = s.get(AppUser, u.id)
        assert verify_password(GOOD_PASSWORD, row.password_hash)
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "user.create")).scalar_one()
    assert event.entity_id == str(u.id) and event.actor_username == "root"
    assert "password_hash" not in event.after and event.after["role"] == "central_ops"
    # the new user can log in
    with session_scope(engine) as s:
        assert svc.authenticate(s, username="asha.k", password=GOOD_PASSWORD).ok


def test_field_engineer_and_oem_viewer_scopes(engine: Engine, world: dict) -> None:
    fe = _create(
        engine,
        world["admin"],
        username="fe1",
        role="field_engineer",
        team_id=world["team_id"],
        phone=None,
    )
    assert fe.team_id == world["team_id"] and fe.zone_id == world["zone_id"]
    assert fe.phone is None
    viewer = _create(
        engine, world["admin"], username="tata.view", role="oem_viewer", oem_id=world["oem_id"]
    )
    assert viewer.oem_id == world["oem_id"]


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"username": "ab"}, "username"),
        ({"username": "9lives"}, "username"),
        ({"username": "has space"}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "call me"}, "phone"),
        ({"role": "superuser"}, "role"),
        ({"role": "oem_viewer"}, "oem_id"),
        ({"role": "oem_viewer", "oem_id": uuid.uuid4()}, "oem_id"),
        ({"role": "field_engineer"}, "team_id"),
        ({"password": "short1"}, "password"),
        ({"password": "password123"}, "password"),
        ({"password": "x" * 73}, "password"),
        ({"full_name": "  "}, "full_name"),
    ],
)
def test_create_user_validation(engine: Engine, world: dict, kw: dict, field: str) -> None:
    with pytest.raises(ValidationError) as ei:
        _create(engine, world["admin"], **kw)
    assert field in ei.value.errors
    with session_scope(engine) as s:
        assert s.execute(select(AppUser).where(AppUser.username == "asha.k")).first() is None


def test_duplicate_username_conflicts(engine: Engine, world: dict) -> None:
    _create(engine, world["admin"])
    with pytest.raises(Conflict, match="asha.k"):
        _create(engine, world["admin"], username="ASHA.K", email="other@chargeops.example.in")


def test_non_admin_cannot_administer_users(engine: Engine, world: dict) -> None:
    target = _create(engine, world["admin"])
    with pytest.raises(PermissionDenied):
        _create(engine, world["ops"], username="sneaky")
    with session_scope(engine) as s:
        for call, kw in [
            (svc.deactivate_user, {}),
            (svc.reactivate_user, {}),
            (svc.unlock_user, {}),
            (svc.reset_password, {"new_password": GOOD_PASSWORD + "x"}),
        ]:
            with pytest.raises(PermissionDenied):
                call(s, world["ops"], user_id=target.id, **kw)
        with pytest.raises(PermissionDenied):
            queries.list_users(s, world["ops"])


def test_deactivate_and_reactivate(engine: Engine, world: dict) -> None:
    target = _create(engine, world["admin"])
    with session_scope(engine) as s:
        out = svc.deactivate_user(s, world["admin"], user_id=target.id)
    assert out.active is False
    with session_scope(engine) as s:
        res = svc.authenticate(s, username="asha.k", password=GOOD_PASSWORD)
        assert not res.ok and res.reason == "inactive"
        assert "asha.k" not in svc.credentials_for_authenticator(s)["usernames"]
    with session_scope(engine) as s:
        back = svc.reactivate_user(s, world["admin"], user_id=target.id)
    assert back.active and back.failed_login_count == 0
    with session_scope(engine) as s:
        assert svc.authenticate(s, username="asha.k", password=GOOD_PASSWORD).ok
    assert _audit_actions(engine, target.id) == [
        "auth.login_failed",
        "auth.login_succeeded",
        "user.create",
        "user.deactivate",
        "user.reactivate",
    ]
    with session_scope(engine) as s, pytest.raises(ValidationError):
        svc.deactivate_user(s, world["admin"], user_id=world["admin"].user_id)
    with session_scope(engine) as s, pytest.raises(NotFound):
        svc.deactivate_user(s, world["admin"], user_id=uuid.uuid4())


def test_unlock_and_reset_password(engine: Engine, world: dict) -> None:
    target = _create(engine, world["admin"])
    for _ in range(5):
        with session_scope(engine) as s:
            svc.authenticate(s, username="asha.k", password="wrong-wrong-wrong")
    with session_scope(engine) as s:
        assert s.get(AppUser, target.id).locked_until is not None
    with session_scope(engine) as s:
        out = svc.unlock_user(s, world["admin"], user_id=target.id)
    assert out.locked_until is None and out.failed_login_count == 0
    with session_scope(engine) as s:
        assert svc.authenticate(s, username="asha.k", password=GOOD_PASSWORD).ok

    with session_scope(engine) as s, pytest.raises(ValidationError) as ei:
        svc.reset_password(s, world["admin"], user_id=target.id, new_password="tiny")
    assert "new_password" in ei.value.errors
    with session_scope(engine) as s:
        svc.reset_password(s, world["admin"], user_id=target.id, new_password="Brand-new-pass-9")
    with session_scope(engine) as s:
        assert not svc.authenticate(s, username="asha.k", password=GOOD_PASSWORD).ok
        assert svc.authenticate(s, username="asha.k", password="Brand-new-pass-9").ok
    actions = _audit_actions(engine, target.id)
    assert "user.unlock" in actions and "user.reset_password" in actions
    with session_scope(engine) as s:
        event = s.execute(
            select(AuditEvent).where(AuditEvent.action == "user.reset_password")
        ).scalar_one()
    assert "Brand-new-pass-9" not in str(event.after) and event.actor_username == "root"


def test_change_own_password(engine: Engine, world: dict) -> None:
    ops = world["ops"]
    with session_scope(engine) as s, pytest.raises(ValidationError) as ei:
        svc.change_own_password(s, ops, current_password="wrong", new_password=GOOD_PASSWORD)
    assert "current_password" in ei.value.errors
    with session_scope(engine) as s, pytest.raises(ValidationError) as ei:
        svc.change_own_password(s, ops, current_password=TEST_PASSWORD, new_password="1234567890")
    assert "new_password" in ei.value.errors
    with session_scope(engine) as s:
        svc.change_own_password(s, ops, current_password=TEST_PASSWORD, new_password=GOOD_PASSWORD)
    with session_scope(engine) as s:
        assert svc.authenticate(s, username="ops", password=GOOD_PASSWORD).ok
        assert not svc.authenticate(s, username="ops", password=TEST_PASSWORD).ok
    assert "user.change_own_password" in _audit_actions(engine, ops.user_id)
    assert PERMISSIONS["user.change_own_password"] == frozenset(
        {
            "admin",
            "manager",
            "central_ops",
            "field_engineer",
            "procurement",
            "oem_reporting",
            "oem_viewer",
        }
    )


def test_list_users_and_options(engine: Engine, world: dict) -> None:
    _create(engine, world["admin"], username="fe1", role="field_engineer", team_id=world["team_id"])
    with session_scope(engine) as s:
        svc.deactivate_user(s, world["admin"], user_id=world["ops"].user_id)
    with session_scope(engine) as s:
        df = queries.list_users(s, world["admin"])
        assert list(df.columns) == queries.USER_COLUMNS
        assert list(df["username"]) == ["fe1", "ops", "root"]
        fe = df[df["username"] == "fe1"].iloc[0]
        assert fe["team"] == "BLR-T1" and fe["zone"] == "BLR" and fe["oem"] is None
        assert list(queries.list_users(s, world["admin"], role="admin")["username"]) == ["root"]
        assert list(queries.list_users(s, world["admin"], active=False)["username"]) == ["ops"]
        assert [o.code for o in queries.list_oems(s)] == ["TATA"]
        assert [z.code for z in queries.list_zones(s)] == ["BLR"]
        assert [t.code for t in queries.list_teams(s, world["zone_id"])] == ["BLR-T1"]
        assert queries.list_teams(s, uuid.uuid4()) == []


# --------------------------------------------------------------------------------------------
# issue 6: password policy, update_user, session version, every admin action audited


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Short-pw-1", "at least 12"),  # 10 characters: the old minimum is not enough now
        ("aaaaaaaaaaaaaaaa", "different characters"),
        ("121212121212", "different characters"),
        ("Password2026!", "too common"),  # a common word with digits and a symbol around it
        ("P@ssw0rd12345", "too common"),  # ... or with letters swapped for look-alikes
        ("qwertyuiop12", "too common"),
        ("iloveyou2026", "too common"),
        ("chargeops123", "too common"),  # the local additions
        ("asha.k-is-my-name", "username"),
    ],
)
def test_password_policy_refuses(password: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        svc.validate_password(password, username="asha.k")
    assert reason in caught.value.errors["password"]


@pytest.mark.parametrize(
    "password", [GOOD_PASSWORD, "Brand-new-pass-9", "correct horse battery", "Nandi-hills-77"]
)
def test_password_policy_accepts(password: str) -> None:
    assert svc.validate_password(password, username="asha.k") == password


def test_common_password_list_is_the_big_one() -> None:
    from domain.accounts.passwords import common_password_list

    listed = common_password_list()
    assert len(listed) >= 30_000 - 100
    assert {"password", "123456", "qwerty", "dragon", "iloveyou"} <= listed


def test_update_user_changes_profile_and_bumps_session_on_role_change(
    engine: Engine, world: dict
) -> None:
    user = _create(engine, world["admin"])
    with session_scope(engine) as s:
        same_role = svc.update_user(
            s,
            world["admin"],
            user_id=user.id,
            full_name="Asha Kumar",
            email="ASHA.K@chargeops.example.in",
            phone=None,
            role="central_ops",
        )
    assert same_role.full_name == "Asha Kumar" and same_role.phone is None
    assert same_role.session_version == 0
    with session_scope(engine) as s:
        promoted = svc.update_user(
            s,
            world["admin"],
            user_id=user.id,
            full_name="Asha Kumar",
            email="asha.k@chargeops.example.in",
            phone=None,
            role="oem_viewer",
            oem_id=world["oem_id"],
        )
    assert promoted.role == "oem_viewer" and promoted.session_version == 1
    with session_scope(engine) as s, pytest.raises(ValidationError) as caught:
        svc.update_user(
            s,
            world["admin"],
            user_id=user.id,
            full_name="",
            email="nope",
            phone=None,
            role="field_engineer",
        )
    assert set(caught.value.errors) == {"full_name", "email", "team_id"}
    with session_scope(engine) as s, pytest.raises(ValidationError):
        svc.update_user(
            s,
            world["admin"],
            user_id=world["admin"].user_id,
            full_name="Root",
            email="root@chargeops.example.in",
            phone=None,
            role="manager",
        )
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        svc.update_user(
            s,
            world["ops"],
            user_id=user.id,
            full_name="X",
            email="x@chargeops.example.in",
            phone=None,
            role="admin",
        )
    with session_scope(engine) as s, pytest.raises(NotFound):
        svc.update_user(
            s,
            world["admin"],
            user_id=uuid.uuid4(),
            full_name="X",
            email="x@chargeops.example.in",
            phone=None,
            role="manager",
        )
    with session_scope(engine) as s:
        events = list(
            s.execute(
                select(AuditEvent).where(
                    AuditEvent.action == "user.update", AuditEvent.entity_id == str(user.id)
                )
            ).scalars()
        )
        assert len(events) == 2
        promo = next(e for e in events if e.after["role"] == "oem_viewer")
        assert promo.before["role"] == "central_ops" and promo.actor_username == "root"


def test_password_changes_bump_the_session_version(engine: Engine, world: dict) -> None:
    with session_scope(engine) as s:
        svc.change_own_password(
            s, world["ops"], current_password=TEST_PASSWORD, new_password=GOOD_PASSWORD
        )
    with session_scope(engine) as s:
        assert s.get(AppUser, world["ops"].user_id).session_version == 1
        reset = svc.reset_password(
            s, world["admin"], user_id=world["ops"].user_id, new_password="Brand-new-pass-9"
        )
    assert reset.session_version == 2


def test_every_admin_action_is_audited_with_the_admin_as_actor(engine: Engine, world: dict) -> None:
    admin = world["admin"]
    user = _create(engine, admin)
    steps = [
        lambda s: svc.update_user(
            s,
            admin,
            user_id=user.id,
            full_name="Asha K",
            email="asha@chargeops.example.in",
            phone=None,
            role="manager",
        ),
        lambda s: svc.deactivate_user(s, admin, user_id=user.id),
        lambda s: svc.reactivate_user(s, admin, user_id=user.id),
        lambda s: svc.reset_password(s, admin, user_id=user.id, new_password="Brand-new-pass-9"),
        lambda s: svc.unlock_user(s, admin, user_id=user.id),
    ]
    for step in steps:
        with session_scope(engine) as s:
            step(s)
    with session_scope(engine) as s:
        rows = [
            (e.action, e.actor_id, e.actor_username)
            for e in s.execute(
                select(AuditEvent)
                .where(AuditEvent.entity_id == str(user.id))
                .order_by(AuditEvent.created_at)
            ).scalars()
        ]
    assert [r[0] for r in rows] == [
        "user.create",
        "user.update",
        "user.deactivate",
        "user.reactivate",
        "user.reset_password",
        "user.unlock",
    ]
    assert all(r[1] == admin.user_id and r[2] == "root" for r in rows)
    # a non-admin attempt is refused before anything is written
    with session_scope(engine) as s, pytest.raises(PermissionDenied) as caught:
        svc.unlock_user(s, world["ops"], user_id=user.id)
    assert caught.value.command == "user.unlock" and caught.value.role == "central_ops"


def test_update_user_sets_active_in_one_audited_update(engine: Engine, world: dict) -> None:
    admin = world["admin"]
    user = _create(engine, admin)
    profile = {
        "full_name": "Asha K",
        "email": "asha@chargeops.example.in",
        "phone": None,
        "role": "central_ops",
    }
    for _ in range(5):
        with session_scope(engine) as s:
            svc.authenticate(s, username="asha.k", password="wrong-wrong-wrong")
    with session_scope(engine) as s:
        out = svc.update_user(s, admin, user_id=user.id, active=False, **profile)
    assert out.active is False and out.locked_until is not None  # deactivating keeps the lock
    with session_scope(engine) as s:
        assert not svc.authenticate(s, username="asha.k", password=GOOD_PASSWORD).ok
        same = svc.update_user(s, admin, user_id=user.id, **profile)  # None: unchanged
    assert same.active is False
    with session_scope(engine) as s:
        back = svc.update_user(s, admin, user_id=user.id, active=True, **profile)
    assert back.active and back.failed_login_count == 0 and back.locked_until is None
    with session_scope(engine) as s:
        assert svc.authenticate(s, username="asha.k", password=GOOD_PASSWORD).ok
        events = [
            (e.before["active"], e.after["active"])
            for e in s.execute(
                select(AuditEvent)
                .where(AuditEvent.action == "user.update", AuditEvent.entity_id == str(user.id))
                .order_by(AuditEvent.created_at)
            ).scalars()
        ]
    assert events == [(True, False), (False, False), (False, True)]
    # an admin cannot deactivate themselves through an update either
    with session_scope(engine) as s, pytest.raises(ValidationError) as caught:
        svc.update_user(
            s,
            admin,
            user_id=admin.user_id,
            full_name="Root",
            email="root@chargeops.example.in",
            phone=None,
            role="admin",
            active=False,
        )
    assert set(caught.value.errors) == {"active"}
    with session_scope(engine) as s:
        assert s.get(AppUser, admin.user_id).active is True


def test_list_users_locked_filter(engine: Engine, world: dict) -> None:
    from datetime import timedelta

    from db.types import utcnow

    now = utcnow()
    with session_scope(engine) as s:
        s.get(AppUser, world["ops"].user_id).locked_until = now + timedelta(minutes=5)
        expired = make_user(s, role="manager", username="meera")
        expired.locked_until = now - timedelta(minutes=1)  # the lock has run out
    with session_scope(engine) as s:
        locked = queries.list_users(s, world["admin"], locked=True, now=now)
        free = queries.list_users(s, world["admin"], locked=False, now=now)
        later = queries.list_users(s, world["admin"], locked=True, now=now + timedelta(hours=1))
        both = queries.list_users(s, world["admin"], role="central_ops", locked=False, now=now)
    assert list(locked["username"]) == ["ops"]
    assert list(free["username"]) == ["meera", "root"]
    assert later.empty and both.empty


def test_admin_locks_a_user_until_unlocked(engine: Engine, world: dict) -> None:
    from datetime import timedelta

    from db.types import utcnow

    target = _create(engine, world["admin"])
    with session_scope(engine) as s:
        version_before = s.get(AppUser, target.id).session_version
        locked = svc.lock_user(s, world["admin"], user_id=target.id, reason="Lost phone")
    assert locked.locked_until is not None and locked.locked_until > utcnow() + timedelta(days=3650)
    with session_scope(engine) as s:
        assert s.get(AppUser, target.id).session_version == version_before + 1  # sessions end
        refused = svc.authenticate(s, username="asha.k", password=GOOD_PASSWORD)
    assert not refused.ok  # even the right password
    with session_scope(engine, readonly=True) as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "user.lock")).scalar_one()
        assert event.actor_username == "root" and event.after["reason"] == "Lost phone"
    with session_scope(engine) as s:
        svc.unlock_user(s, world["admin"], user_id=target.id)
    with session_scope(engine) as s:
        assert svc.authenticate(s, username="asha.k", password=GOOD_PASSWORD).ok


def test_a_lock_with_an_end_runs_out(engine: Engine, world: dict) -> None:
    from datetime import timedelta

    from db.types import utcnow

    target = _create(engine, world["admin"])
    until = utcnow() + timedelta(hours=2)
    with session_scope(engine) as s:
        out = svc.lock_user(s, world["admin"], user_id=target.id, reason="Audit", until=until)
    assert out.locked_until == until
    with session_scope(engine) as s:  # the lock has run out three hours later
        later = svc.authenticate(
            s, username="asha.k", password=GOOD_PASSWORD, now=until + timedelta(hours=1)
        )
    assert later.ok


@pytest.mark.parametrize(
    ("kw", "field"),
    [({"reason": "  "}, "reason"), ({"reason": "x", "until": "past"}, "until")],
)
def test_lock_refuses_bad_input_and_writes_nothing(
    engine: Engine, world: dict, kw: dict, field: str
) -> None:
    from datetime import timedelta

    from db.types import utcnow

    target = _create(engine, world["admin"])
    if kw.get("until") == "past":
        kw = {**kw, "until": utcnow() - timedelta(minutes=1)}
    with session_scope(engine) as s, pytest.raises(ValidationError) as ei:
        svc.lock_user(s, world["admin"], user_id=target.id, **kw)
    assert field in ei.value.errors
    with session_scope(engine, readonly=True) as s:
        assert s.get(AppUser, target.id).locked_until is None
    assert "user.lock" not in _audit_actions(engine, target.id)


def test_admin_cannot_lock_themselves(engine: Engine, world: dict) -> None:
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        svc.lock_user(s, world["admin"], user_id=world["admin"].user_id, reason="oops")


def test_a_password_an_admin_set_must_be_replaced(engine: Engine, world: dict) -> None:
    """create_user and reset_password leave a temporary password (must_change_password); the
    user's own change clears it, audited; a failed change leaves it set."""
    created = _create(engine, world["admin"])
    assert created.must_change_password is True
    with session_scope(engine) as s:
        user = svc.authenticate(s, username="asha.k", password=GOOD_PASSWORD).user
    assert user is not None and user.must_change_password is True
    me = user.as_actor()
    with session_scope(engine) as s, pytest.raises(ValidationError):
        svc.change_own_password(s, me, current_password=GOOD_PASSWORD, new_password="tiny")
    with session_scope(engine) as s:
        assert s.get(AppUser, created.id).must_change_password is True
    with session_scope(engine) as s:
        out = svc.change_own_password(
            s, me, current_password=GOOD_PASSWORD, new_password="Mysore-palace-77"
        )
    assert out.must_change_password is False
    with session_scope(engine) as s:
        assert s.get(AppUser, created.id).must_change_password is False
        change = s.execute(
            select(AuditEvent).where(AuditEvent.action == "user.change_own_password")
        ).scalar_one()
    assert change.before == {"must_change_password": True}
    assert change.after == {"password_changed": True, "must_change_password": False}

    with session_scope(engine) as s:
        reset = svc.reset_password(
            s, world["admin"], user_id=created.id, new_password="Temp-pass-for-asha-1"
        )
    assert reset.must_change_password is True
    with session_scope(engine) as s:
        assert s.get(AppUser, created.id).must_change_password is True
        event = s.execute(
            select(AuditEvent).where(AuditEvent.action == "user.reset_password")
        ).scalar_one()
    assert event.before["must_change_password"] is False
    assert event.after["must_change_password"] is True
    # users a seeder or test factory writes directly are not forced
    with session_scope(engine) as s:
        assert s.get(AppUser, world["ops"].user_id).must_change_password is False
