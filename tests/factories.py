"""Small builders for test data (reference rows and users), used by every suite."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

# A fast, valid bcrypt hash of "secret-password-1" (cost 4) so tests do not pay cost 12.
import bcrypt
from sqlalchemy.orm import Session

from domain.accounts.dto import actor_for
from domain.accounts.models import AppUser, FieldTeam, Oem, OemRate, Zone, ZoneDistrict
from domain.actor import Actor

TEST_PASSWORD = "secret-password-1"
_TEST_HASH = bcrypt.hashpw(TEST_PASSWORD.encode(), bcrypt.gensalt(4)).decode()


def make_zone(
    s: Session,
    code: str = "BLR",
    name: str = "Bengaluru",
    state: str = "KARNATAKA",
    districts: tuple[str, ...] = ("BENGALURU URBAN", "BENGALURU RURAL"),
    subdiv: str | None = "KA",
) -> Zone:
    z = Zone(code=code, name=name, state=state, holiday_subdiv=subdiv)
    z.districts = [ZoneDistrict(state=state, district=d) for d in districts]
    s.add(z)
    s.flush()
    return z


def make_oem(
    s: Session,
    code: str = "TATA",
    name: str = "Tata Motors",
    sla_survey_days: int = 3,
    sla_install_days: int = 7,
    rates: dict[str, str] | None = None,
    rates_from: date = date(2020, 1, 1),
) -> Oem:
    o = Oem(
        code=code,
        name=name,
        contact_email=f"ev-ops@{code.lower()}.example.in",
        sla_survey_days=sla_survey_days,
        sla_install_days=sla_install_days,
        required_evidence=["site_photo", "serial_photo", "signature"],
    )
    s.add(o)
    s.flush()
    for level, price in (rates or {"standard": "12000.00"}).items():
        s.add(
            OemRate(oem_id=o.id, install_level=level, price=Decimal(price), valid_from=rates_from)
        )
    s.flush()
    return o


def make_team(s: Session, zone: Zone, code: str = "BLR-T1") -> FieldTeam:
    t = FieldTeam(code=code, name=f"Team {code}", zone_id=zone.id, skills=["7.2kW AC"])
    s.add(t)
    s.flush()
    return t


def make_user(
    s: Session,
    role: str = "admin",
    username: str | None = None,
    oem: Oem | None = None,
    zone: Zone | None = None,
    team: FieldTeam | None = None,
    password_hash: str | None = None,
) -> AppUser:
    username = username or f"{role}-{uuid.uuid4().hex[:6]}"
    u = AppUser(
        username=username,
        full_name=username.title(),
        email=f"{username}@chargeops.example.in",
        role=role,
        oem_id=oem.id if oem else None,
        zone_id=zone.id if zone else None,
        team_id=team.id if team else None,
        password_hash=password_hash or _TEST_HASH,
    )
    s.add(u)
    s.flush()
    return u


def actor_of(u: AppUser) -> Actor:
    return actor_for(u)
