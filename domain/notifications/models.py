"""notifications: reminders and alerts for a user or a role, deduplicated by key."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, IdMixin, one_of
from domain.actor import ROLES

NOTIFICATION_KINDS = (
    "confirmation_call_due",
    "reminder",
    "reorder_alert",
    "sla_at_risk",
    "report_ready",
    "revision_needed",
)


class Notification(IdMixin, Base):
    """A message to a user or to everyone in a role; ``dedupe_key`` makes jobs idempotent."""

    __tablename__ = "notification"
    __table_args__ = (
        one_of("kind", NOTIFICATION_KINDS),
        CheckConstraint(
            "recipient_user_id IS NOT NULL OR recipient_role IS NOT NULL", name="has_recipient"
        ),
        CheckConstraint(
            "recipient_role IS NULL OR recipient_role IN ("
            + ", ".join(f"'{r}'" for r in ROLES)
            + ")",
            name="recipient_role_valid",
        ),
        Index("ix_notification_recipient_user", "recipient_user_id", "read_at"),
        Index("ix_notification_recipient_role", "recipient_role", "read_at"),
    )
    kind: Mapped[str] = mapped_column(String(30))
    recipient_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE")
    )
    recipient_role: Mapped[str | None] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    entity_type: Mapped[str | None] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
