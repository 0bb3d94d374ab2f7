"""Audit trail: every command writes one ``audit_event`` in its own transaction.

Refusals are audited too: a ``PermissionDenied`` rolls its transaction back, so
``record_refusal`` writes the ``permission.denied`` event in a fresh, short transaction
(``app.runtime.session_scope`` calls it for every page action; scripts and the scheduler call it
themselves).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, Engine, String, cast, func, select
from sqlalchemy.orm import Session

from db.engine import session_scope
from domain.accounts.models import AuditEvent
from domain.actor import Actor
from domain.calendar import local_midnight_utc, to_local
from domain.errors import PermissionDenied
from domain.paging import Page, check_date_range, check_page, matches_any
from domain.permissions import require

REFUSAL_ACTION = "permission.denied"
"""``audit_event.action`` of a refused command."""

_log = logging.getLogger(__name__)


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


def record_refusal(engine: Engine, actor: Actor, exc: PermissionDenied) -> bool:
    """Write one ``permission.denied`` audit event for a refused command, in its own
    transaction (the refused command's transaction has already been rolled back).

    The event: actor id and username, ``entity_type`` "permission", ``entity_id`` the command
    (or None for a data-scope refusal), ``after`` = ``{"command", "role", "message"}``.

    Never raises: a failure to write the audit row is logged and must not hide the refusal
    from the user.

    Returns:
        True when the event was committed.
    """
    try:
        with session_scope(engine) as s:
            record(
                s,
                actor,
                REFUSAL_ACTION,
                entity_type="permission",
                entity_id=exc.command,
                after={
                    "command": exc.command,
                    "role": exc.role or actor.role,
                    "message": str(exc)[:500],
                },
            )
        return True
    except Exception:  # noqa: BLE001 - auditing must not mask the refusal
        _log.exception("could not audit a permission refusal of %s", actor.username)
        return False


@dataclass(frozen=True)
class AuditEventDTO:
    """One audit event as an admin or manager sees it.

    ``at`` is the aware UTC time; ``before`` / ``after`` are the JSON snapshots (dicts, or
    None); ``entity_id`` is the changed row's id or ref as text.
    """

    id: uuid.UUID
    at: datetime
    actor_username: str
    action: str
    entity_type: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class AuditEventPage(Page):
    """One page of audit events (newest first) and the total matching the filters."""

    row_type: ClassVar[type] = AuditEventDTO
    rows: tuple[AuditEventDTO, ...]


@dataclass(frozen=True)
class AuditFilterChoices:
    """Values present in the audit trail, for the filter select boxes (sorted)."""

    actions: tuple[str, ...]
    entity_types: tuple[str, ...]

    @property
    def action_prefixes(self) -> tuple[str, ...]:
        """``"user."``-style groups of the actions (the text before the first dot + ".")."""
        return tuple(sorted({a.split(".", 1)[0] + "." for a in self.actions if "." in a}))


EXPORT_MAX_ROWS = 10_000
"""At most this many events (the newest matching) go into one CSV export."""

CSV_COLUMNS = ("at", "actor", "action", "entity_type", "entity_id", "before", "after")


def _to_dto(e: AuditEvent) -> AuditEventDTO:
    return AuditEventDTO(
        id=e.id,
        at=e.created_at,
        actor_username=e.actor_username,
        action=e.action,
        entity_type=e.entity_type,
        entity_id=e.entity_id,
        before=e.before,
        after=e.after,
    )


def _conditions(
    *,
    actor_username: str | None = None,
    action: str | None = None,
    action_prefix: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    search: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[ColumnElement[bool]]:
    """WHERE conditions of the audit filters (see ``list_events_page``)."""
    check_date_range(date_from, date_to, "date_from")
    conditions: list[ColumnElement[bool]] = []
    by_actor = matches_any(actor_username, (AuditEvent.actor_username,))
    if by_actor is not None:
        conditions.append(by_actor)
    if action:
        conditions.append(AuditEvent.action == action)
    if action_prefix:
        conditions.append(AuditEvent.action.startswith(action_prefix, autoescape=True))
    if entity_type:
        conditions.append(AuditEvent.entity_type == entity_type)
    if entity_id and entity_id.strip():
        conditions.append(AuditEvent.entity_id == entity_id.strip())
    found = matches_any(
        search,
        (
            AuditEvent.entity_id,
            cast(AuditEvent.before, String),
            cast(AuditEvent.after, String),
        ),
    )
    if found is not None:
        conditions.append(found)
    if date_from is not None:
        conditions.append(AuditEvent.created_at >= local_midnight_utc(date_from))
    if date_to is not None:
        conditions.append(AuditEvent.created_at < local_midnight_utc(date_to + timedelta(days=1)))
    return conditions


_NEWEST_FIRST = (AuditEvent.created_at.desc(), AuditEvent.id)


def list_events(
    session: Session,
    actor: Actor,
    *,
    action: str | None = None,
    action_prefix: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    limit: int = 200,
) -> list[AuditEventDTO]:
    """The newest audit events first (permission ``audit.read``: admins and managers).

    Args:
        action: exact action (``"user.unlock"``); ``action_prefix``: e.g. ``"user."``.
        entity_type / entity_id: filter on the changed entity.
        limit: at most this many rows (1-1000).

    Raises:
        PermissionDenied: without ``audit.read``.
    """
    require(actor, "audit.read")
    limit = max(1, min(int(limit), 1000))
    conditions = _conditions(
        action=action, action_prefix=action_prefix, entity_type=entity_type, entity_id=entity_id
    )
    rows = session.execute(
        select(AuditEvent).where(*conditions).order_by(*_NEWEST_FIRST).limit(limit)
    ).scalars()
    return [_to_dto(e) for e in rows]


def list_events_page(
    session: Session,
    actor: Actor,
    *,
    actor_username: str | None = None,
    action: str | None = None,
    action_prefix: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    search: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    page_size: int = 50,
) -> AuditEventPage:
    """One page of audit events, newest first, with the total matching the filters
    (permission ``audit.read``: admins and managers).

    Args:
        actor_username: case-insensitive substring of the acting username (LIKE wildcards
            are literal).
        action: exact action (``"user.unlock"``); action_prefix: e.g. ``"user."``.
        entity_type: exact entity type (``"app_user"``); entity_id: exact id or ref.
        search: case-insensitive substring of the entity id or of the before/after JSON
            text.
        date_from / date_to: local (Asia/Kolkata) dates, both inclusive.
        page: 1-based; page_size: 1..500 rows.

    Returns:
        ``AuditEventPage`` (rows of ``AuditEventDTO`` for the page, total count): LIMIT/OFFSET
        in SQL plus one COUNT query.

    Raises:
        PermissionDenied: without ``audit.read``.
        ValidationError: page < 1, page_size out of range, date_from after date_to.
    """
    require(actor, "audit.read")
    check_page(page, page_size)
    conditions = _conditions(
        actor_username=actor_username,
        action=action,
        action_prefix=action_prefix,
        entity_type=entity_type,
        entity_id=entity_id,
        search=search,
        date_from=date_from,
        date_to=date_to,
    )
    total = session.execute(select(func.count(AuditEvent.id)).where(*conditions)).scalar_one()
    rows = session.execute(
        select(AuditEvent)
        .where(*conditions)
        .order_by(*_NEWEST_FIRST)
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).scalars()
    return AuditEventPage(
        rows=tuple(_to_dto(e) for e in rows), total=int(total), page=page, page_size=page_size
    )


def audit_filter_choices(session: Session, actor: Actor) -> AuditFilterChoices:
    """The distinct actions and entity types in the audit trail (permission ``audit.read``).

    Raises:
        PermissionDenied: without ``audit.read``.
    """
    require(actor, "audit.read")
    actions = session.execute(
        select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    ).scalars()
    types = session.execute(
        select(AuditEvent.entity_type).distinct().order_by(AuditEvent.entity_type)
    ).scalars()
    return AuditFilterChoices(actions=tuple(actions), entity_types=tuple(types))


def _csv_safe(value: str) -> str:
    """Neutralise spreadsheet formulas (``=..``, ``@..``, ``+cmd..``) in an exported cell:
    usernames of failed logins are typed by anyone."""
    if not value:
        return value
    if value[0] in "=@\t\r" or (
        value[0] in "+-" and any(ch not in "0123456789 -().+" for ch in value)
    ):
        return "'" + value
    return value


def json_text(value: dict[str, Any] | None) -> str:
    """A before/after snapshot as compact JSON text (keys sorted, non-ASCII kept); ``""``
    for None."""
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def events_csv(
    session: Session,
    actor: Actor,
    *,
    actor_username: str | None = None,
    action: str | None = None,
    action_prefix: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    search: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    max_rows: int = EXPORT_MAX_ROWS,
) -> bytes:
    """The events matching the filters of ``list_events_page`` as CSV (permission
    ``audit.read``), newest first, at most ``max_rows`` (1..``EXPORT_MAX_ROWS``) of them.

    Returns:
        UTF-8 bytes with a BOM (for Excel): a header ``CSV_COLUMNS``, then one line per event:
        ``at`` local time ISO 8601 with its offset, the acting username, action, entity type
        and id, ``before`` / ``after`` as JSON text. Cells starting like a spreadsheet
        formula are prefixed with ``'``.

    Raises:
        PermissionDenied: without ``audit.read``.
        ValidationError: date_from after date_to.
    """
    require(actor, "audit.read")
    max_rows = max(1, min(int(max_rows), EXPORT_MAX_ROWS))
    conditions = _conditions(
        actor_username=actor_username,
        action=action,
        action_prefix=action_prefix,
        entity_type=entity_type,
        entity_id=entity_id,
        search=search,
        date_from=date_from,
        date_to=date_to,
    )
    rows = session.execute(
        select(AuditEvent).where(*conditions).order_by(*_NEWEST_FIRST).limit(max_rows)
    ).scalars()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in rows:
        writer.writerow(
            [
                to_local(e.created_at).isoformat(timespec="seconds"),
                _csv_safe(e.actor_username),
                _csv_safe(e.action),
                _csv_safe(e.entity_type),
                _csv_safe(e.entity_id or ""),
                _csv_safe(json_text(e.before)),
                _csv_safe(json_text(e.after)),
            ]
        )
    return buf.getvalue().encode("utf-8-sig")
