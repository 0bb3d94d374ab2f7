"""Role x command permission table (DESIGN.md "Who uses it").

Every command calls ``require(actor, "<command>")`` first. Hiding a page is convenience;
this table is the security. Every key is exercised for every role by
``tests/domain/test_authorization_matrix.py`` (a key without a guarded command fails it), and
every refusal is audited (``permission.denied``, see ``domain.audit.record_refusal``).
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
    "user.lock": frozenset({"admin"}),
    "user.unlock": frozenset({"admin"}),
    "user.change_own_password": ALL,
    "user.list": frozenset({"admin"}),
    "audit.read": frozenset({"admin", "manager"}),
    # leads
    "lead.read": ALL,
    "lead.create": frozenset({"admin", "central_ops"}),
    "lead.import": frozenset({"admin", "central_ops"}),
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
    "service_ticket.cancel": frozenset({"admin", "central_ops"}),
    "service_visit.book": frozenset({"admin", "central_ops"}),
    "service_visit.cancel": frozenset({"admin", "central_ops"}),
    "service_visit.complete": frozenset({"admin", "central_ops", "field_engineer"}),
    # procurement (seed 004); approval above the configured amount also needs a manager
    "material.read": STAFF,
    "material.manage": frozenset({"admin", "procurement"}),
    "stock.read": STAFF,
    "stock.adjust": frozenset({"admin", "procurement"}),
    "stock.receive": frozenset({"admin", "procurement"}),
    "allocation.read": STAFF,
    "allocation.allocate": frozenset({"admin", "procurement"}),
    "allocation.dispatch": frozenset({"admin", "procurement"}),
    "allocation.deliver": frozenset({"admin", "procurement", "central_ops", "field_engineer"}),
    "allocation.return": frozenset({"admin", "procurement"}),
    "procurement_request.read": STAFF,
    "procurement_request.create": frozenset({"admin", "procurement", "central_ops"}),
    "procurement_request.approve": frozenset({"admin", "procurement", "manager"}),
    "procurement_request.approve_above_limit": frozenset({"admin", "manager"}),
    "procurement_request.order": frozenset({"admin", "procurement"}),
    "procurement_request.receive": frozenset({"admin", "procurement"}),
    "procurement_request.cancel": frozenset({"admin", "procurement", "manager"}),
    "vendor.read": STAFF,
    "vendor.manage": frozenset({"admin", "procurement"}),
    # closure packs (issue 5, seed 000); oem_viewer reads only its OEM's (checked in queries)
    "closure_pack.read": frozenset(
        {"admin", "manager", "central_ops", "oem_reporting", "oem_viewer"}
    ),
    "closure_pack.compile": frozenset({"admin", "oem_reporting"}),
    "closure_pack.submit": frozenset({"admin", "oem_reporting"}),
    "closure_pack.record_response": frozenset({"admin", "oem_reporting"}),
    "closure_pack.add_evidence": frozenset({"admin", "central_ops", "oem_reporting"}),
    "closure_pack.confirm_call": frozenset({"admin", "central_ops", "oem_reporting"}),
    # month closure (issue 5, seed 003); oem_viewers have no access to the internal folder
    "month.read": frozenset({"admin", "manager", "central_ops", "oem_reporting"}),
    "month.review": frozenset({"admin", "manager", "oem_reporting"}),
    "month.close": frozenset({"admin", "manager", "oem_reporting"}),
    "month.close_with_exceptions": frozenset({"admin", "manager"}),
    "month.invoice": frozenset({"admin", "manager"}),
    "month.reopen": frozenset({"admin"}),
    # weekly/monthly reports and their compile queue (issue 5); oem_viewer: own OEM, submitted
    "report.read": frozenset({"admin", "manager", "central_ops", "oem_reporting", "oem_viewer"}),
    "report.compile": frozenset({"admin", "oem_reporting"}),
    "report.submit": frozenset({"admin", "oem_reporting"}),
    "report.acknowledge": frozenset({"admin", "oem_reporting"}),
    "report_request.read": frozenset({"admin", "manager", "oem_reporting"}),
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
        PermissionDenied: naming the role and the command (``.command``, ``.role`` set).
        KeyError: for a command missing from the table (a programming error).
    """
    if not can(actor, command):
        raise PermissionDenied(
            f"role '{actor.role}' may not {command.replace('.', ' ')}",
            command=command,
            role=actor.role,
            actor=actor,
        )
