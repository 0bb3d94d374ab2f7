"""Audit trail: every command writes one ``audit_event`` in its own transaction."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from domain.accounts.models import AuditEvent
from domain.actor import Actor


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    entity_type: str,
    entity_id: uuid.UUID | str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event (flushed with the command's other changes).

    Args:
        action: dotted command name, e.g. ``"lead.import"``.
        entity_type / entity_id: what was changed (table name and id or ref).
        before / after: JSON-able snapshots; UUIDs, dates and Decimals are stringified.

    Returns:
        The pending ``AuditEvent``.
    """
    event = AuditEvent(
        actor_id=actor.user_id,
        actor_username=actor.username,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id) if entity_id is not None else None,
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
    )
    session.add(event)
    return event
