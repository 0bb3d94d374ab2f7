"""The seed-001 installation lifecycle, table-driven over every (state, target) pair.

``EXPECTED_LEGAL`` is written out by hand from seed 001 (not derived from the module under
test): the forward chain, any open state -> rescheduled / cancelled, rescheduled -> planned.
Each pair runs once as a pure check and once through ``service.transition`` on SQLite and
PostgreSQL with every guard satisfied: legal pairs succeed and leave one status-change row
and one audit event; all others raise ``TransitionError`` and change nothing.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from db.engine import session_scope
from domain.errors import TransitionError
from domain.installations.lifecycle import (
    InstallationState,
    TransitionContext,
    allowed_transitions,
    check_transition,
)
from domain.installations.models import (
    INSTALLATION_STATUSES,
    Installation,
    InstallationStatusChange,
)
from domain.installations.service import transition
from tests.domain.test_installations import (
    InstWorld,
    add_installation,
    add_report,
    build_world,
    counts,
    today,
)

CHAIN = [
    ("planned", "material_pending"),
    ("material_pending", "material_ready"),
    ("material_ready", "confirmed"),
    ("confirmed", "in_progress"),
    ("in_progress", "completed"),
    ("completed", "report_submitted"),
    ("report_submitted", "closed"),
]
OPEN = [
    "planned",
    "material_pending",
    "material_ready",
    "confirmed",
    "in_progress",
    "completed",
    "report_submitted",
    "rescheduled",
]
EXPECTED_LEGAL = frozenset(
    CHAIN
    + [(s, "rescheduled") for s in OPEN if s != "rescheduled"]
    + [(s, "cancelled") for s in OPEN]
    + [("rescheduled", "planned")]
    # material returned before the job (seed 004 allocations)
    + [("material_ready", "material_pending"), ("confirmed", "material_pending")]
)
ALL_PAIRS = list(itertools.product(INSTALLATION_STATUSES, INSTALLATION_STATUSES))
GOOD_CONTEXT = TransitionContext(
    reason="customer asked", report_serial="SN-1", report_model_id=uuid.uuid4()
)


def _state(status: str, **flags: bool) -> InstallationState:
    values = {"material_ready": True, "customer_confirmed": True}
    values.update(flags)
    return InstallationState(ref="INS-2026-00042", status=status, **values)


def test_expected_table_is_what_the_seed_says() -> None:
    assert len(EXPECTED_LEGAL) == 7 + 7 + 8 + 1 + 2
    assert not any(frm in ("closed", "cancelled") for frm, _ in EXPECTED_LEGAL)
    assert not any(frm == to for frm, to in EXPECTED_LEGAL)


@pytest.mark.parametrize("status", INSTALLATION_STATUSES)
def test_allowed_transitions_match_the_table(status: str) -> None:
    assert set(allowed_transitions(status)) == {to for frm, to in EXPECTED_LEGAL if frm == status}


def test_allowed_transitions_rejects_unknown_status() -> None:
    with pytest.raises(ValueError, match="unknown installation status"):
        allowed_transitions("done")


@pytest.mark.parametrize(("frm", "to"), ALL_PAIRS)
def test_check_transition_pure(frm: str, to: str) -> None:
    ctx = TransitionContext(
        reason=GOOD_CONTEXT.reason,
        report_serial=GOOD_CONTEXT.report_serial,
        report_model_id=GOOD_CONTEXT.report_model_id,
        new_date=today() + timedelta(days=1),
    )
    if (frm, to) in EXPECTED_LEGAL:
        assert check_transition(_state(frm), to, ctx) is None
    else:
        with pytest.raises(TransitionError) as err:
            check_transition(_state(frm), to, ctx)
        assert f"INS-2026-00042 is {frm}" in str(err.value)


@pytest.mark.parametrize(
    ("frm", "to", "state_flags", "ctx", "message"),
    [
        (
            "material_ready",
            "confirmed",
            {"material_ready": False},
            GOOD_CONTEXT,
            "material not ready",
        ),
        (
            "confirmed",
            "in_progress",
            {"customer_confirmed": False},
            GOOD_CONTEXT,
            "customer not confirmed",
        ),
        ("completed", "report_submitted", {}, TransitionContext(), "report lacks serial/model"),
        (
            "completed",
            "report_submitted",
            {},
            TransitionContext(report_serial="  ", report_model_id=uuid.uuid4()),
            "report lacks serial/model",
        ),
        (
            "completed",
            "report_submitted",
            {},
            TransitionContext(report_serial="SN-9"),
            "report lacks serial/model",
        ),
        ("planned", "cancelled", {}, TransitionContext(reason=" "), "a reason is required"),
        ("confirmed", "rescheduled", {}, TransitionContext(), "a reason is required"),
        ("rescheduled", "planned", {}, TransitionContext(), "a new scheduled date is required"),
    ],
)
def test_each_guard_has_its_message(
    frm: str, to: str, state_flags: dict, ctx: TransitionContext, message: str
) -> None:
    with pytest.raises(TransitionError) as err:
        check_transition(_state(frm, **state_flags), to, ctx)
    assert str(err.value) == f"INS-2026-00042 is {frm}: cannot move to {to}, {message}"


def test_illegal_message_lists_allowed_next_states() -> None:
    with pytest.raises(TransitionError) as err:
        check_transition(_state("planned"), "closed", GOOD_CONTEXT)
    assert str(err.value) == (
        "INS-2026-00042 is planned: cannot move to closed "
        "(allowed next: material_pending, rescheduled, cancelled)"
    )
    with pytest.raises(TransitionError, match="is closed: a closed installation cannot change"):
        check_transition(_state("closed"), "cancelled", GOOD_CONTEXT)


def test_demo_and_signature_never_block() -> None:
    # a report without signature and an installation without demo still submit
    check_transition(_state("completed"), "report_submitted", GOOD_CONTEXT)


# --- through the command, on both databases --------------------------------------------------


@pytest.fixture
def world(engine: Engine) -> InstWorld:
    with session_scope(engine) as s:
        return build_world(s)


def _installation_in(engine: Engine, world: InstWorld, status: str) -> uuid.UUID:
    """An installation in ``status`` with every guard satisfied (material ready, customer
    confirmed, report with serial and model)."""
    with session_scope(engine) as s:
        iid = add_installation(
            s,
            world,
            status=status,
            material_ready=True,
            customer_confirmed=True,
            scheduled_date=None if status == "rescheduled" else today() + timedelta(days=2),
        )
        if status == "rescheduled":
            inst = s.get(Installation, iid)
            assert inst is not None
            inst.scheduled_date = None
            inst.time_slot = None
        add_report(s, world, iid)
    return iid


@pytest.mark.parametrize("frm", INSTALLATION_STATUSES)
def test_every_pair_through_the_command(engine: Engine, world: InstWorld, frm: str) -> None:
    """One fresh installation per target; legal targets succeed, others change nothing."""
    failures: list[str] = []
    for to in INSTALLATION_STATUSES:
        iid = _installation_in(engine, world, frm)
        before = counts(engine, iid)
        kwargs = {"reason": "customer asked"}
        if to == "planned":
            kwargs["new_date"] = today() + timedelta(days=4)  # type: ignore[assignment]
        try:
            with session_scope(engine) as s:
                dto = transition(s, world.admin, installation_id=iid, to_status=to, **kwargs)
        except TransitionError as e:
            if (frm, to) in EXPECTED_LEGAL:
                failures.append(f"{frm}->{to} refused: {e}")
            elif counts(engine, iid) != before:
                failures.append(f"{frm}->{to} refused but changed rows")
            elif f"is {frm}" not in str(e):
                failures.append(f"{frm}->{to} message lacks the state: {e}")
            continue
        if (frm, to) not in EXPECTED_LEGAL:
            failures.append(f"{frm}->{to} was allowed")
            continue
        status, changes, audits = counts(engine, iid)
        if (status, changes, audits) != (to, before[1] + 1, before[2] + 1) or dto.status != to:
            failures.append(f"{frm}->{to}: got {(status, changes, audits)} from {before}")
        with session_scope(engine, readonly=True) as s:
            row = s.execute(
                select(
                    InstallationStatusChange.from_status,
                    InstallationStatusChange.to_status,
                    InstallationStatusChange.changed_by_id,
                    InstallationStatusChange.reason,
                ).where(InstallationStatusChange.installation_id == iid)
            ).one()
        if tuple(row) != (frm, to, world.admin.user_id, "customer asked"):
            failures.append(f"{frm}->{to}: change row {tuple(row)}")
    assert failures == []


@pytest.mark.parametrize(
    ("frm", "to", "flags", "with_report", "message"),
    [
        ("material_ready", "confirmed", {"material_ready": False}, True, "material not ready"),
        ("confirmed", "in_progress", {"customer_confirmed": False}, True, "customer not confirmed"),
        ("completed", "report_submitted", {}, False, "report lacks serial/model"),
    ],
)
def test_guard_failure_through_the_command_changes_nothing(
    engine: Engine,
    world: InstWorld,
    frm: str,
    to: str,
    flags: dict,
    with_report: bool,
    message: str,
) -> None:
    with session_scope(engine) as s:
        values = {"material_ready": True, "customer_confirmed": True}
        values.update(flags)
        iid = add_installation(s, world, status=frm, **values)
        ref = s.get(Installation, iid).ref  # type: ignore[union-attr]
        if with_report:
            add_report(s, world, iid)
    before = counts(engine, iid)
    with pytest.raises(TransitionError) as err, session_scope(engine) as s:
        transition(s, world.ops, installation_id=iid, to_status=to)
    assert str(err.value) == f"{ref} is {frm}: cannot move to {to}, {message}"
    assert counts(engine, iid) == before
