"""Plain data returned by accounts commands and queries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from domain.accounts.models import AppUser
from domain.actor import Actor


@dataclass(frozen=True)
class UserDTO:
    """A user as pages see it (never the password hash)."""

    id: uuid.UUID
    username: str
    full_name: str
    email: str
    phone: str | None
    role: str
    oem_id: uuid.UUID | None
    zone_id: uuid.UUID | None
    team_id: uuid.UUID | None
    active: bool
    failed_login_count: int
    locked_until: datetime | None
    last_login_at: datetime | None
    session_version: int = 0
    must_change_password: bool = False  # an admin set the password: the user must replace it

    @classmethod
    def from_row(cls, u: AppUser) -> UserDTO:
        return cls(
            id=u.id,
            username=u.username,
            full_name=u.full_name,
            email=u.email,
            phone=u.phone,
            role=u.role,
            oem_id=u.oem_id,
            zone_id=u.zone_id,
            team_id=u.team_id,
            active=u.active,
            failed_login_count=u.failed_login_count,
            locked_until=u.locked_until,
            last_login_at=u.last_login_at,
            session_version=u.session_version or 0,
            must_change_password=bool(u.must_change_password),
        )

    def as_actor(self) -> Actor:
        """The ``Actor`` for commands run by this user."""
        return actor_for(self)


def actor_for(user: AppUser | UserDTO) -> Actor:
    """The ``Actor`` (identity, role, OEM/zone/team scope) of a user row or DTO."""
    return Actor(
        user_id=user.id,
        username=user.username,
        role=user.role,
        oem_id=user.oem_id,
        zone_id=user.zone_id,
        team_id=user.team_id,
    )
