"""The one error hierarchy of the domain layer. Pages catch ``DomainError`` and show it."""

from __future__ import annotations


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
    """The acting user's role may not run this command."""


class Conflict(DomainError):
    """Duplicate, stale edit or concurrent change; the caller may retry or reload."""
