"""notifications queries: a user's inbox (their own and their role's notifications)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.notifications.models import Notification
from domain.permissions import require


@dataclass(frozen=True)
class NotificationDTO:
    """A notification as shown in an inbox. Times are aware UTC; ``entity_*`` point at the
    related row (e.g. ``("lead", "<uuid>")``)."""

    id: uuid.UUID
    kind: str
    subject: str
    body: str
    recipient_user_id: uuid.UUID | None
    recipient_role: str | None
    entity_type: str | None
    entity_id: str | None
    due_at: datetime | None
    read_at: datetime | None
    created_at: datetime

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


def to_dto(n: Notification) -> NotificationDTO:
    """Copy a ``Notification`` row into a ``NotificationDTO``."""
    return NotificationDTO(
        id=n.id,
        kind=n.kind,
        subject=n.subject,
        body=n.body or "",
        recipient_user_id=n.recipient_user_id,
        recipient_role=n.recipient_role,
        entity_type=n.entity_type,
        entity_id=n.entity_id,
        due_at=n.due_at,
        read_at=n.read_at,
        created_at=n.created_at,
    )


def addressed_to(actor: Actor) -> ColumnElement[bool]:
    """SQL condition: the notification is for ``actor.user_id`` or for ``actor.role``."""
    if actor.user_id is None:
        return Notification.recipient_role == actor.role
    return or_(
        Notification.recipient_user_id == actor.user_id,
        Notification.recipient_role == actor.role,
    )


def inbox(
    session: Session, actor: Actor, *, unread_only: bool = False, limit: int = 100
) -> list[NotificationDTO]:
    """The actor's notifications (addressed to them or to their role), newest first.

    Args:
        unread_only: only those with no ``read_at``.
        limit: maximum rows (1..1000).

    Raises:
        PermissionDenied: without ``notification.read``.
    """
    require(actor, "notification.read")
    stmt = select(Notification).where(addressed_to(actor))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    stmt = stmt.order_by(Notification.created_at.desc(), Notification.due_at, Notification.id)
    rows = session.execute(stmt.limit(max(1, min(int(limit), 1000)))).scalars().all()
    return [to_dto(n) for n in rows]


def unread_count(session: Session, actor: Actor) -> int:
    """Number of unread notifications in the actor's inbox (for a badge).

    Raises:
        PermissionDenied: without ``notification.read``.
    """
    require(actor, "notification.read")
    return session.execute(
        select(func.count())
        .select_from(Notification)
        .where(addressed_to(actor), Notification.read_at.is_(None))
    ).scalar_one()
