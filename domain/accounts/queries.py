"""accounts reads: the users table for admins and small option lists for select boxes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from db.types import utcnow
from domain.accounts.models import AppUser, FieldTeam, Oem, Zone
from domain.actor import Actor
from domain.permissions import require

USER_COLUMNS = [
    "id",
    "username",
    "full_name",
    "email",
    "phone",
    "role",
    "oem",
    "zone",
    "team",
    "active",
    "failed_login_count",
    "locked_until",
    "last_login_at",
    "created_at",
]


@dataclass(frozen=True)
class OemOption:
    """An OEM for a select box."""

    id: uuid.UUID
    code: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.code} - {self.name}"


@dataclass(frozen=True)
class ZoneOption:
    """A zone for a select box."""

    id: uuid.UUID
    code: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.code} - {self.name}"


@dataclass(frozen=True)
class TeamOption:
    """A field team for a select box, with the zone it belongs to."""

    id: uuid.UUID
    code: str
    name: str
    zone_id: uuid.UUID

    @property
    def label(self) -> str:
        return f"{self.code} - {self.name}"


def list_users(
    session: Session,
    actor: Actor,
    *,
    role: str | None = None,
    active: bool | None = None,
    locked: bool | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """All users, ordered by username (permission ``user.list``).

    Args:
        role: only this role when given.
        active: only active (True) or inactive (False) users when given.
        locked: only users locked out at ``now`` (``locked_until`` in the future; True) or
            not locked (False) when given.
        now: aware UTC time the lock is judged at (default: the clock).

    Returns:
        DataFrame with columns ``USER_COLUMNS``: ``id`` (UUID), ``username``, ``full_name``,
        ``email``, ``phone`` (E.164 or None), ``role``, ``oem`` / ``zone`` / ``team`` (codes or
        None), ``active`` (bool), ``failed_login_count`` (int), ``locked_until``,
        ``last_login_at``, ``created_at`` (aware UTC datetimes or None). Never the hash.

    Raises:
        PermissionDenied: not an admin.
    """
    require(actor, "user.list")
    team = aliased(FieldTeam)
    stmt = (
        select(
            AppUser.id,
            AppUser.username,
            AppUser.full_name,
            AppUser.email,
            AppUser.phone,
            AppUser.role,
            Oem.code.label("oem"),
            Zone.code.label("zone"),
            team.code.label("team"),
            AppUser.active,
            AppUser.failed_login_count,
            AppUser.locked_until,
            AppUser.last_login_at,
            AppUser.created_at,
        )
        .outerjoin(Oem, Oem.id == AppUser.oem_id)
        .outerjoin(Zone, Zone.id == AppUser.zone_id)
        .outerjoin(team, team.id == AppUser.team_id)
        .order_by(AppUser.username)
    )
    if role is not None:
        stmt = stmt.where(AppUser.role == role)
    if active is not None:
        stmt = stmt.where(AppUser.active.is_(active))
    if locked is not None:
        moment = now or utcnow()
        if locked:
            stmt = stmt.where(AppUser.locked_until.is_not(None), AppUser.locked_until > moment)
        else:
            stmt = stmt.where(or_(AppUser.locked_until.is_(None), AppUser.locked_until <= moment))
    rows = session.execute(stmt).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=USER_COLUMNS)


def list_oems(session: Session, *, active_only: bool = True) -> list[OemOption]:
    """OEMs ordered by code (active ones only by default)."""
    stmt = select(Oem.id, Oem.code, Oem.name).order_by(Oem.code)
    if active_only:
        stmt = stmt.where(Oem.active.is_(True))
    return [OemOption(*r) for r in session.execute(stmt).all()]


def list_zones(session: Session, *, active_only: bool = True) -> list[ZoneOption]:
    """Zones ordered by code (active ones only by default)."""
    stmt = select(Zone.id, Zone.code, Zone.name).order_by(Zone.code)
    if active_only:
        stmt = stmt.where(Zone.active.is_(True))
    return [ZoneOption(*r) for r in session.execute(stmt).all()]


def list_teams(
    session: Session, zone_id: uuid.UUID | None = None, *, active_only: bool = True
) -> list[TeamOption]:
    """Field teams ordered by code, optionally only those of ``zone_id``."""
    stmt = select(FieldTeam.id, FieldTeam.code, FieldTeam.name, FieldTeam.zone_id).order_by(
        FieldTeam.code
    )
    if zone_id is not None:
        stmt = stmt.where(FieldTeam.zone_id == zone_id)
    if active_only:
        stmt = stmt.where(FieldTeam.active.is_(True))
    return [TeamOption(*r) for r in session.execute(stmt).all()]
