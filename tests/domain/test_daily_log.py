"""Team daily logs on SQLite and PostgreSQL: upsert per team and date, own team only."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

import domain.models  # noqa: F401
from db.engine import session_scope
from db.types import utcnow
from domain.accounts.models import AuditEvent
from domain.calendar import local_date
from domain.errors import PermissionDenied, ValidationError
from domain.installations.daily_log import list_daily_logs, record_daily_log
from domain.installations.models import TeamDailyLog
from tests.factories import actor_of, make_oem, make_team, make_user, make_zone


@pytest.fixture
def world(engine: Engine) -> dict[str, Any]:
    with session_scope(engine) as s:
        zone = make_zone(s)
        oem = make_oem(s)
        t1 = make_team(s, zone, "BLR-T1")
        t2 = make_team(s, zone, "BLR-T2")
        return {
            "engine": engine,
            "t1": t1.id,
            "t2": t2.id,
            "fe1": actor_of(make_user(s, "field_engineer", "fe-one", zone=zone, team=t1)),
            "fe2": actor_of(make_user(s, "field_engineer", "fe-two", zone=zone, team=t2)),
            "ops": actor_of(make_user(s, "central_ops", "ops")),
            "viewer": actor_of(make_user(s, "oem_viewer", "v", oem=oem)),
        }


def _today() -> date:
    return local_date(utcnow())


def test_upsert_per_team_and_date(world: dict[str, Any]) -> None:
    day = _today() - timedelta(days=1)
    with session_scope(world["engine"]) as s:
        first = record_daily_log(
            s,
            world["fe1"],
            team_id=world["t1"],
            log_date=day,
            day_type="productive",
            jobs_done=2,
            notes="two installs",
        )
    with session_scope(world["engine"]) as s:
        second = record_daily_log(
            s,
            world["fe1"],
            team_id=world["t1"],
            log_date=day,
            day_type="non_productive",
            jobs_done=0,
            notes="  rain  ",
        )
    assert second.id == first.id
    assert (second.day_type, second.jobs_done, second.notes) == ("non_productive", 0, "rain")
    assert second.team_code == "BLR-T1"
    with session_scope(world["engine"]) as s:
        assert s.execute(select(func.count(TeamDailyLog.id))).scalar_one() == 1
        events = (
            s.execute(
                select(AuditEvent)
                .where(AuditEvent.action == "team_daily_log.record")
                .order_by(AuditEvent.created_at)
            )
            .scalars()
            .all()
        )
        assert len(events) == 2
        assert events[0].before is None
        assert events[1].before["day_type"] == "productive"
        assert events[1].after["day_type"] == "non_productive"


def test_future_date_and_bad_values_refused(world: dict[str, Any]) -> None:
    with session_scope(world["engine"]) as s, pytest.raises(ValidationError) as exc:
        record_daily_log(
            s,
            world["fe1"],
            team_id=world["t1"],
            log_date=_today() + timedelta(days=1),
            day_type="party",
            jobs_done=-1,
            notes=None,
        )
    assert set(exc.value.errors) == {"log_date", "day_type", "jobs_done"}
    assert "future" in exc.value.errors["log_date"]
    with session_scope(world["engine"]) as s, pytest.raises(ValidationError) as exc:
        record_daily_log(
            s,
            world["fe1"],
            team_id=world["t1"],
            log_date=_today(),
            day_type="holiday",
            jobs_done=1,
            notes=None,
        )
    assert "holiday" in exc.value.errors["jobs_done"]
    # today itself is allowed
    with session_scope(world["engine"]) as s:
        ok = record_daily_log(
            s,
            world["fe1"],
            team_id=world["t1"],
            log_date=_today(),
            day_type="holiday",
            jobs_done=0,
            notes=None,
        )
    assert ok.log_date == _today()


def test_own_team_only(world: dict[str, Any]) -> None:
    with session_scope(world["engine"]) as s, pytest.raises(PermissionDenied):
        record_daily_log(
            s,
            world["fe2"],
            team_id=world["t1"],
            log_date=_today(),
            day_type="productive",
            jobs_done=1,
            notes=None,
        )
    with session_scope(world["engine"]) as s, pytest.raises(PermissionDenied):
        record_daily_log(
            s,
            world["viewer"],
            team_id=world["t1"],
            log_date=_today(),
            day_type="productive",
            jobs_done=1,
            notes=None,
        )
    with session_scope(world["engine"]) as s:
        for actor, team in ((world["fe1"], "t1"), (world["ops"], "t2")):
            record_daily_log(
                s,
                actor,
                team_id=world[team],
                log_date=_today(),
                day_type="productive",
                jobs_done=3,
                notes=None,
            )
    with session_scope(world["engine"], readonly=True) as s:
        mine = list_daily_logs(s, world["fe1"])
        assert [r.team_code for r in mine] == ["BLR-T1"]
        assert [r.team_code for r in list_daily_logs(s, world["ops"])] == ["BLR-T1", "BLR-T2"]
        assert [r.team_code for r in list_daily_logs(s, world["ops"], team_id=world["t2"])] == [
            "BLR-T2"
        ]
        assert list_daily_logs(s, world["ops"], date_to=_today() - timedelta(days=1)) == []
        with pytest.raises(PermissionDenied):
            list_daily_logs(s, world["fe1"], team_id=world["t2"])
        with pytest.raises(PermissionDenied):
            list_daily_logs(s, world["viewer"])
