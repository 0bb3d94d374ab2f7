"""Role x command permission table (DESIGN.md "Who uses it").

Every command calls ``require(actor, "<command>")`` first. Hiding a page is convenience;
this table is the security.
"""

from __future__ import annotations

from domain.actor import ROLES, Actor
from domain.errors import PermissionDenied

ALL = frozenset(ROLES)
STAFF = ALL - {"oem_viewer"}

PERMISSIONS: dict[str, frozenset[str]] = {
    # accounts
    "user.create": frozenset({"admin"}),
    "user.update": frozenset({"admin"}),
    "user.deactivate": frozenset({"admin"}),
    "user.reset_password": frozenset({"admin"}),
    "user.reactivate": frozenset({"admin"}),
    "user.unlock": frozenset({"admin"}),
    "user.change_own_password": ALL,
    "user.list": frozenset({"admin"}),
    "audit.read": frozenset({"admin", "manager"}),
    "reference.manage": frozenset({"admin"}),
    # leads
    "lead.read": ALL,
    "lead.create": frozenset({"admin", "central_ops"}),
    "lead.import": frozenset({"admin", "central_ops"}),
    "lead.update": frozenset({"admin", "central_ops"}),
    "lead.cancel": frozenset({"admin", "central_ops"}),
    # dashboards
    "kpi.read": frozenset({"admin", "manager", "central_ops", "oem_reporting", "oem_viewer"}),
    # notifications
    "notification.read": ALL,
    # scheduler
    "job_run.read": frozenset({"admin"}),
}


def can(actor: Actor, command: str) -> bool:
    """True when ``actor``'s role may run ``command``.

    Raises:
        KeyError: for a command missing from the table (a programming error).
    """
    return actor.role in PERMISSIONS[command]


def require(actor: Actor, command: str) -> None:
    """Refuse the command unless the actor's role allows it.

    Raises:
        PermissionDenied: naming the role and the command.
    """
    if not can(actor, command):
        raise PermissionDenied(f"role '{actor.role}' may not {command.replace('.', ' ')}")
