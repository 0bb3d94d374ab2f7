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
