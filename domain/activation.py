"""Retire and restore reference rows (materials, vendors, ...) the same audited way.

Rows that other records point at are never deleted: they are deactivated, which keeps them on
the old records and keeps them out of new ones.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from domain import audit
from domain.actor import Actor


def set_active(
    session: Session,
    actor: Actor,
    row: Any,
    *,
    active: bool,
    entity_type: str,
    attr: str = "active",
) -> bool:
    """Set ``row.<attr>`` to ``active``, with one ``<entity_type>.reactivate`` or
    ``<entity_type>.deactivate`` audit event (before/after ``{attr: bool}``).

    The caller checks the permission and loads the row. Idempotent: a row already in that
    state is left alone and nothing is audited.

    Returns:
        True when the flag changed.
    """
    if getattr(row, attr) == active:
        return False
    setattr(row, attr, active)
    audit.record(
        session,
        actor,
        f"{entity_type}.{'reactivate' if active else 'deactivate'}",
        entity_type=entity_type,
        entity_id=row.id,
        before={attr: not active},
        after={attr: active},
    )
    session.flush()
    return True
