"""The one error hierarchy of the domain layer. Pages catch ``DomainError`` and show it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.actor import Actor


class DomainError(Exception):
    """Base of every error a user can cause; its message is safe to show."""


class NotFound(DomainError):
    """The entity does not exist, or the actor may not see it (oem_viewer isolation)."""


class ValidationError(DomainError):
    """Bad input. ``errors`` maps a field name to the reason it was refused."""

    def __init__(self, errors: dict[str, str] | str, field: str | None = None) -> None:
        if isinstance(errors, str):
            errors = {field or "__all__": errors}
        self.errors: dict[str, str] = dict(errors)
        super().__init__(
            "; ".join(f"{k}: {v}" if k != "__all__" else v for k, v in self.errors.items())
        )


class TransitionError(DomainError):
    """A lifecycle change that is not allowed from the current state."""


class PermissionDenied(DomainError):
    """The acting user's role may not run this command (or may not touch this record).

    Attributes:
        command: the ``domain.permissions.PERMISSIONS`` key that refused the actor, or None
            for a data-scope refusal (e.g. a field engineer acting on another team's job).
        role: the actor's role when known.
        actor: the refused ``domain.actor.Actor`` when known (set by ``require``).

    Every refusal is audited as ``permission.denied`` once the transaction has rolled back
    (``app.runtime.session_scope``; other callers use ``domain.audit.record_refusal``).
    """

    def __init__(
        self,
        message: str,
        *,
        command: str | None = None,
        role: str | None = None,
        actor: Actor | None = None,
    ) -> None:
        super().__init__(message)
        self.command = command
        self.role = role if role is not None else (actor.role if actor is not None else None)
        self.actor = actor


class Conflict(DomainError):
    """Duplicate, stale edit or concurrent change; the caller may retry or reload."""


class Unavailable(DomainError):
    """The database could not complete the unit of work: busy/locked, a serialization
    failure, a deadlock or a lost connection. The transaction was rolled back, so nothing was
    saved, except in one case the message names: the connection was lost *during* COMMIT,
    and whether the change was saved is unknown (reload before trying again).

    ``transient`` is True when running the whole unit of work again is safe and may succeed;
    ``db.engine.run_in_transaction`` (and ``app.widgets.run_command``) then retry a bounded
    number of times. The error they raise after the last attempt has ``transient=False``, as
    has the lost-during-COMMIT case, so no outer layer retries again.
    """

    def __init__(
        self, message: str = "the database is busy; try again", *, transient: bool = False
    ) -> None:
        super().__init__(message)
        self.transient = transient
