"""Time slots and team availability shared by surveys, installations and service visits."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.settings import get_settings
from domain.accounts.models import FieldTeam, TeamUnavailability
from domain.errors import NotFound, ValidationError


def time_slots() -> tuple[str, ...]:
    """The configured slots of a working day, e.g. ``("09-12", "12-15", "15-18")``."""
    return tuple(get_settings().time_slots)


def validate_slot(slot: str, field: str = "time_slot") -> str:
    """Return ``slot`` if it is a configured time slot.

    Raises:
        ValidationError: naming ``field`` and the allowed slots.
    """
    slots = time_slots()
    if slot not in slots:
        raise ValidationError(
            {field: f"'{slot}' is not a time slot; use one of {', '.join(slots)}"}
        )
    return slot


def team_unavailability_reason(session: Session, team_id: uuid.UUID, day: date) -> str | None:
    """Why the team cannot work on ``day`` (leave, vehicle breakdown...), or None if it can.

    Raises:
        NotFound: no such team.
    """
    team = session.get(FieldTeam, team_id)
    if team is None:
        raise NotFound("field team not found")
    if not team.active:
        return f"team {team.code} is inactive"
    reason = session.scalars(
        select(TeamUnavailability.reason).where(
            TeamUnavailability.team_id == team_id,
            TeamUnavailability.from_date <= day,
            TeamUnavailability.to_date >= day,
        )
    ).first()
    return f"team {team.code} is unavailable on {day.isoformat()}: {reason}" if reason else None
