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
    # surveys (field engineers act only on their own team's surveys: checked in the command)
    "survey.read": ALL,
    "survey.schedule": frozenset({"admin", "central_ops"}),
    "survey.cancel": frozenset({"admin", "central_ops"}),
    "survey.record_report": frozenset({"admin", "central_ops", "field_engineer"}),
    "survey.submit": frozenset({"admin", "central_ops", "field_engineer"}),
    "survey.review": frozenset({"admin", "central_ops"}),
    # installations (seed 001)
    "installation.read": ALL,
    "installation.create": frozenset({"admin", "central_ops"}),
    "installation.transition": frozenset({"admin", "central_ops", "field_engineer"}),
    "installation.reschedule": frozenset({"admin", "central_ops"}),
    "installation.cancel": frozenset({"admin", "central_ops"}),
    "installation.confirm_call": frozenset({"admin", "central_ops"}),
    "installation.assign": frozenset({"admin", "central_ops"}),
    "team.mark_unavailable": frozenset({"admin", "central_ops"}),
    "team_log.record": frozenset({"admin", "central_ops", "field_engineer"}),
    "team_log.read": STAFF,
    # service calls (seed 002)
    "service.read": STAFF,
    "service_ticket.create": frozenset({"admin", "central_ops"}),
    "service_ticket.update": frozenset({"admin", "central_ops", "field_engineer"}),
    "service_ticket.invoice": frozenset({"admin", "central_ops", "manager"}),
    "service_ticket.resolve": frozenset({"admin", "central_ops", "field_engineer"}),
    "service_ticket.close": frozenset({"admin", "central_ops"}),
    "service_visit.book": frozenset({"admin", "central_ops"}),
    "service_visit.cancel": frozenset({"admin", "central_ops"}),
    "service_visit.complete": frozenset({"admin", "central_ops", "field_engineer"}),
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
