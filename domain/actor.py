"""The acting user passed to every command and query."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

ROLES = (
    "admin",
    "manager",
    "central_ops",
    "field_engineer",
    "procurement",
    "oem_reporting",
    "oem_viewer",
)


@dataclass(frozen=True)
class Actor:
    """Who is acting: identity, role and the scope their role is limited to.

    ``oem_id`` is set for ``oem_viewer`` (they see only that OEM); ``team_id`` for field
    engineers (they act only on their team's jobs). ``user_id`` is None for the system
    (scheduler jobs, seeding).
    """

    user_id: uuid.UUID | None
    username: str
    role: str
    oem_id: uuid.UUID | None = None
    zone_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None

    @property
    def is_system(self) -> bool:
        return self.user_id is None


SYSTEM = Actor(user_id=None, username="system", role="admin")
