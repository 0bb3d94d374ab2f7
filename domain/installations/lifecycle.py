"""The installation lifecycle of seed 001 as data, plus its guards (pure, no database).

Main chain (seed 001, kept strictly: no shortcut from ``planned`` straight to
``material_ready``; material is first marked pending, then ready)::

    planned -> material_pending -> material_ready -> confirmed -> in_progress
            -> completed -> report_submitted -> closed

Material going back: ``material_ready`` and ``confirmed`` may return to ``material_pending``
when allocated material is returned before the job starts (seed 004 / issue 4: a return
clears ``material_ready``).

Side exits: any *open* state (every state except ``closed`` and ``cancelled``) may go to
``rescheduled`` or ``cancelled``, both with a reason; ``rescheduled`` goes back to ``planned``
once it has a new date. A state never moves to itself.

Guards (seed 001 business rules):

* ``confirmed`` needs ``material_ready`` True ("material not ready");
* ``in_progress`` needs the customer's pre-installation confirmation ("customer not
  confirmed");
* ``report_submitted`` needs an installation report with charger serial and model
  ("report lacks serial/model");
* ``rescheduled`` / ``cancelled`` need a reason; ``planned`` (from ``rescheduled``) needs a
  new scheduled date.

Demo completion and the customer signature are tracked but never block (seed 001).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from domain.errors import TransitionError
from domain.installations.models import INSTALLATION_STATUSES

MAIN_CHAIN: tuple[str, ...] = (
    "planned",
    "material_pending",
    "material_ready",
    "confirmed",
    "in_progress",
    "completed",
    "report_submitted",
    "closed",
)
"""The seed's forward chain, in order."""

TERMINAL_STATUSES: frozenset[str] = frozenset({"closed", "cancelled"})
"""States nothing leaves."""

OPEN_STATUSES: tuple[str, ...] = tuple(
    s for s in INSTALLATION_STATUSES if s not in TERMINAL_STATUSES
)
"""States from which an installation may be rescheduled or cancelled."""

REASON_REQUIRED: frozenset[str] = frozenset({"rescheduled", "cancelled"})
"""Targets that need a non-blank reason."""


MATERIAL_BACK_FROM: tuple[str, ...] = ("material_ready", "confirmed")
"""States that go back to ``material_pending`` when allocated material is returned."""


def _build_transitions() -> dict[str, tuple[str, ...]]:
    table: dict[str, list[str]] = {s: [] for s in INSTALLATION_STATUSES}
    for current, following in zip(MAIN_CHAIN, MAIN_CHAIN[1:], strict=False):
        table[current].append(following)
    table["rescheduled"].append("planned")
    # A material return before the job (seed 004) takes the job back to material_pending.
    for state in MATERIAL_BACK_FROM:
        table[state].append("material_pending")
    for state in OPEN_STATUSES:
        for side in ("rescheduled", "cancelled"):
            if side != state:
                table[state].append(side)
    return {k: tuple(v) for k, v in table.items()}


TRANSITIONS: dict[str, tuple[str, ...]] = _build_transitions()
"""status -> legal target statuses (in display order)."""


@dataclass(frozen=True)
class InstallationState:
    """What the guards look at: the installation's ref (for messages), status and flags."""

    ref: str
    status: str
    material_ready: bool = False
    customer_confirmed: bool = False
    scheduled_date: date | None = None


@dataclass(frozen=True)
class TransitionContext:
    """Inputs of one transition that are not on the installation row.

    ``report_serial`` / ``report_model_id``: the installation report's charger serial and
    model (None when there is no report). ``new_date``: the new scheduled date when going
    back to ``planned``.
    """

    reason: str | None = None
    report_serial: str | None = None
    report_model_id: uuid.UUID | None = None
    new_date: date | None = None


def allowed_transitions(status: str) -> tuple[str, ...]:
    """Legal target statuses from ``status`` (guards not evaluated); () for terminal states.

    Raises:
        ValueError: ``status`` is not one of ``INSTALLATION_STATUSES``.
    """
    if status not in TRANSITIONS:
        raise ValueError(f"unknown installation status {status!r}")
    return TRANSITIONS[status]


def is_legal(from_status: str, to_status: str) -> bool:
    """True when ``from_status -> to_status`` is an edge of the lifecycle (guards aside)."""
    return to_status in TRANSITIONS.get(from_status, ())


def check_transition(
    inst_state: InstallationState, to_status: str, context: TransitionContext | None = None
) -> None:
    """Refuse the move ``inst_state.status -> to_status`` unless it is legal and guarded ok.

    Returns None when the transition may happen; changes nothing.

    Raises:
        TransitionError: unknown target, illegal edge (message lists the allowed targets) or
            a failing guard; the message names the ref, the current state and what is
            missing, e.g. ``"INS-2026-00001 is material_pending: cannot move to confirmed,
            material not ready"``.
    """
    ctx = context or TransitionContext()
    current = inst_state.status
    head = f"{inst_state.ref} is {current}"
    if to_status not in INSTALLATION_STATUSES:
        raise TransitionError(f"{head}: unknown target status {to_status!r}")
    if current in TERMINAL_STATUSES:
        raise TransitionError(f"{head}: a {current} installation cannot change any more")
    if not is_legal(current, to_status):
        allowed = ", ".join(TRANSITIONS[current])
        raise TransitionError(
            f"{head}: cannot move to {to_status} (allowed next: {allowed or 'none'})"
        )
    missing = _missing(inst_state, to_status, ctx)
    if missing:
        raise TransitionError(f"{head}: cannot move to {to_status}, {missing}")


def _missing(state: InstallationState, to_status: str, ctx: TransitionContext) -> str | None:
    if to_status in REASON_REQUIRED and not (ctx.reason or "").strip():
        return "a reason is required"
    if to_status == "confirmed" and not state.material_ready:
        return "material not ready"
    if to_status == "in_progress" and not state.customer_confirmed:
        return "customer not confirmed"
    if to_status == "report_submitted" and (
        not (ctx.report_serial or "").strip() or ctx.report_model_id is None
    ):
        return "report lacks serial/model"
    if to_status == "planned" and (ctx.new_date or state.scheduled_date) is None:
        return "a new scheduled date is required"
    return None
