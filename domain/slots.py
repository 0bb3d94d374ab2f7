"""One shared team-slot table: a team has at most one job per date and time slot (issue 3).

Surveys, installation assignments and service visits each keep their own date and slot; the
``team_slot_booking`` table holds one row per job that currently *holds* its team's slot, with
a ``UNIQUE (team_id, slot_date, time_slot)`` key. Every command that books, moves, releases or
cancels such a job calls ``claim_team_slot`` / ``release_team_slot`` in the same transaction, so
the database (not only a check in code) refuses the second of two planners booking the same
team slot at once, whatever kind of job each of them books.

Which jobs hold a slot (a row exists exactly for these):

* a survey whose status is not ``cancelled`` and that has a team (``SURVEY_HOLDING``: a
  completed, submitted or reviewed survey still used its slot: the team was on site);
* an installation assignment not released (``released_at IS NULL``);
* a service visit that is ``booked`` or ``completed`` (``VISIT_HOLDING``).

``slot_clash`` is the friendly pre-check commands run before writing (it reads the three source
tables); ``claim_team_slot`` is the guarantee. Both raise/describe the same message, e.g.
``team BLR-T1 already has a job on 2026-11-25 09-12 (survey SUR-2026-00012)``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    UniqueConstraint,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from db.base import Base, one_of
from db.types import utcnow
from domain.accounts.models import FieldTeam
from domain.errors import Conflict
from domain.installations.models import Installation, InstallationAssignment
from domain.service.models import ServiceTicket, ServiceVisit
from domain.surveys.models import Survey

__all__ = [
    "SLOT_KINDS",
    "SURVEY_HOLDING",
    "VISIT_HOLDING",
    "TeamSlotBooking",
    "claim_team_slot",
    "expected_team_slot_bookings",
    "rebuild_team_slot_bookings",
    "release_team_slot",
    "require_slot_free",
    "slot_clash",
    "slot_conflict_message",
    "slot_occupant",
]

SLOT_KINDS = ("survey", "installation", "service_visit")
SURVEY_HOLDING = ("scheduled", "completed", "submitted", "reviewed_approved", "reviewed_rejected")
"""Survey statuses that hold the team's slot (every status but ``cancelled``)."""
VISIT_HOLDING = ("booked", "completed")
"""Service-visit statuses that hold the team's slot."""

_REF_MATCHES_KIND = (
    "(kind = 'survey' AND survey_id IS NOT NULL AND installation_assignment_id IS NULL "
    "AND service_visit_id IS NULL) OR "
    "(kind = 'installation' AND survey_id IS NULL AND installation_assignment_id IS NOT NULL "
    "AND service_visit_id IS NULL) OR "
    "(kind = 'service_visit' AND survey_id IS NULL AND installation_assignment_id IS NULL "
    "AND service_visit_id IS NOT NULL)"
)


class TeamSlotBooking(Base):
    """A team's date and time slot held by one job (survey, installation assignment or visit).

    ``UNIQUE (team_id, slot_date, time_slot)`` is the one-job-per-team-slot rule; exactly the
    reference matching ``kind`` is set (CHECK) and each job holds at most one row (UNIQUE).
    Deleting the job deletes its row (ON DELETE CASCADE).
    """

    __tablename__ = "team_slot_booking"
    __table_args__ = (
        UniqueConstraint("team_id", "slot_date", "time_slot"),
        one_of("kind", SLOT_KINDS),
        CheckConstraint(_REF_MATCHES_KIND, name="ref_matches_kind"),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("field_team.id", ondelete="CASCADE"))
    slot_date: Mapped[date] = mapped_column(Date)
    time_slot: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    survey_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("survey.id", ondelete="CASCADE"), unique=True
    )
    installation_assignment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("installation_assignment.id", ondelete="CASCADE"), unique=True
    )
    service_visit_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("service_visit.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def _ref(
    survey_id: uuid.UUID | None, assignment_id: uuid.UUID | None, visit_id: uuid.UUID | None
) -> tuple[str, str, uuid.UUID]:
    given = [
        (kind, column, value)
        for kind, column, value in (
            ("survey", "survey_id", survey_id),
            ("installation", "installation_assignment_id", assignment_id),
            ("service_visit", "service_visit_id", visit_id),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise ValueError("give exactly one of survey_id, assignment_id, visit_id")
    return given[0]


def slot_occupant(session: Session, *, team_id: uuid.UUID, day: date, slot: str) -> str | None:
    """What holds the team's slot according to ``team_slot_booking``, or None when free.

    Returns:
        ``"survey SUR-…"``, ``"installation INS-…"`` or ``"service visit for SVC-…"``.
    """
    row = session.execute(
        select(TeamSlotBooking.kind, Survey.ref, Installation.ref, ServiceTicket.ref)
        .outerjoin(Survey, Survey.id == TeamSlotBooking.survey_id)
        .outerjoin(
            InstallationAssignment,
            InstallationAssignment.id == TeamSlotBooking.installation_assignment_id,
        )
        .outerjoin(Installation, Installation.id == InstallationAssignment.installation_id)
        .outerjoin(ServiceVisit, ServiceVisit.id == TeamSlotBooking.service_visit_id)
        .outerjoin(ServiceTicket, ServiceTicket.id == ServiceVisit.service_ticket_id)
        .where(
            TeamSlotBooking.team_id == team_id,
            TeamSlotBooking.slot_date == day,
            TeamSlotBooking.time_slot == slot,
        )
    ).first()
    if row is None:
        return None
    kind, survey_ref, inst_ref, ticket_ref = row
    if kind == "survey":
        return f"survey {survey_ref}"
    if kind == "installation":
        return f"installation {inst_ref}"
    return f"service visit for {ticket_ref}"


def slot_clash(
    session: Session,
    *,
    team_id: uuid.UUID,
    day: date,
    slot: str,
    exclude_survey_id: uuid.UUID | None = None,
    exclude_installation_id: uuid.UUID | None = None,
    exclude_visit_id: uuid.UUID | None = None,
) -> str | None:
    """What already occupies the team on ``day`` / ``slot`` according to the source tables.

    Looks at surveys not cancelled, installation assignments not released and service visits
    booked or completed (the jobs that hold a slot, see the module docstring); the ``exclude_*``
    job (the one being moved) is ignored, for an installation all its assignments.

    Returns:
        ``"survey SUR-…"``, ``"installation INS-…"``, ``"service visit for SVC-…"`` or None.
    """
    holders = (
        (
            "survey {}",
            select(Survey.ref).where(
                Survey.team_id == team_id,
                Survey.survey_date == day,
                Survey.time_slot == slot,
                Survey.status.in_(SURVEY_HOLDING),
                *([Survey.id != exclude_survey_id] if exclude_survey_id else []),
            ),
        ),
        (
            "installation {}",
            select(Installation.ref)
            .join(InstallationAssignment, InstallationAssignment.installation_id == Installation.id)
            .where(
                InstallationAssignment.team_id == team_id,
                InstallationAssignment.work_date == day,
                InstallationAssignment.time_slot == slot,
                InstallationAssignment.released_at.is_(None),
                *([Installation.id != exclude_installation_id] if exclude_installation_id else []),
            ),
        ),
        (
            "service visit for {}",
            select(ServiceTicket.ref)
            .join(ServiceVisit, ServiceVisit.service_ticket_id == ServiceTicket.id)
            .where(
                ServiceVisit.team_id == team_id,
                ServiceVisit.visit_date == day,
                ServiceVisit.time_slot == slot,
                ServiceVisit.status.in_(VISIT_HOLDING),
                *([ServiceVisit.id != exclude_visit_id] if exclude_visit_id else []),
            ),
        ),
    )
    for label, query in holders:
        ref = session.execute(query.limit(1)).scalar_one_or_none()
        if ref is not None:
            return label.format(ref)
    return None


def slot_conflict_message(
    session: Session, *, team_id: uuid.UUID, day: date, slot: str, occupant: str | None = None
) -> str:
    """``"team BLR-T1 already has a job on 2026-11-25 09-12 (survey SUR-2026-00012)"``.

    ``occupant`` None: looked up in ``team_slot_booking`` (then the source tables).
    """
    code = session.execute(
        select(FieldTeam.code).where(FieldTeam.id == team_id)
    ).scalar_one_or_none()
    if occupant is None:
        occupant = slot_occupant(session, team_id=team_id, day=day, slot=slot) or slot_clash(
            session, team_id=team_id, day=day, slot=slot
        )
    text = f"team {code or team_id} already has a job on {day.isoformat()} {slot}"
    return f"{text} ({occupant})" if occupant else text


def require_slot_free(
    session: Session,
    *,
    team_id: uuid.UUID,
    day: date,
    slot: str,
    exclude_survey_id: uuid.UUID | None = None,
    exclude_installation_id: uuid.UUID | None = None,
    exclude_visit_id: uuid.UUID | None = None,
) -> None:
    """Friendly pre-check before a booking (``slot_clash``); the database has the last word.

    Raises:
        Conflict: naming the job that holds the slot (``slot_conflict_message``).
    """
    occupant = slot_clash(
        session,
        team_id=team_id,
        day=day,
        slot=slot,
        exclude_survey_id=exclude_survey_id,
        exclude_installation_id=exclude_installation_id,
        exclude_visit_id=exclude_visit_id,
    )
    if occupant is not None:
        raise Conflict(
            slot_conflict_message(session, team_id=team_id, day=day, slot=slot, occupant=occupant)
        )


def claim_team_slot(
    session: Session,
    *,
    team_id: uuid.UUID,
    day: date,
    slot: str,
    survey_id: uuid.UUID | None = None,
    assignment_id: uuid.UUID | None = None,
    visit_id: uuid.UUID | None = None,
) -> None:
    """Make the job (exactly one of the ids) hold ``team_id`` / ``day`` / ``slot``.

    A slot the job held before is given up in the same step (a move). Pending ORM changes are
    flushed first (the job row must exist); the row is written inside a SAVEPOINT, so a refusal
    leaves the caller's transaction usable. Two transactions claiming one slot at once: the
    second waits for the first (PostgreSQL unique index) or queues on the write lock (SQLite),
    then is refused.

    Raises:
        Conflict: the team's slot is held by another job; the message names it
            (``team BLR-T1 already has a job on 2026-11-25 09-12 (installation INS-…)``).
        ValueError: not exactly one id given (a programming error).
    """
    kind, column, ref_id = _ref(survey_id, assignment_id, visit_id)
    session.flush()
    try:
        with session.begin_nested():
            session.execute(
                delete(TeamSlotBooking).where(getattr(TeamSlotBooking, column) == ref_id)
            )
            session.execute(
                insert(TeamSlotBooking).values(
                    id=uuid.uuid4(),
                    team_id=team_id,
                    slot_date=day,
                    time_slot=slot,
                    kind=kind,
                    created_at=utcnow(),
                    **{column: ref_id},
                )
            )
    except IntegrityError as exc:
        raise Conflict(slot_conflict_message(session, team_id=team_id, day=day, slot=slot)) from exc


def release_team_slot(
    session: Session,
    *,
    survey_id: uuid.UUID | None = None,
    assignment_id: uuid.UUID | None = None,
    visit_id: uuid.UUID | None = None,
) -> int:
    """Give up the slot held by the job (exactly one of the ids); no-op when it holds none.

    Returns:
        Rows deleted (0 or 1).

    Raises:
        ValueError: not exactly one id given.
    """
    _, column, ref_id = _ref(survey_id, assignment_id, visit_id)
    result = session.execute(
        delete(TeamSlotBooking).where(getattr(TeamSlotBooking, column) == ref_id)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _holding_jobs():  # type: ignore[no-untyped-def]
    """SELECTs of (team_id, slot_date, time_slot, kind, survey_id, assignment_id, visit_id,
    id, created_at) for every job that holds a slot, installations first (they keep the slot
    on a clash when rebuilding). The booking's id and created_at are the job's own, so a
    rebuild is deterministic."""
    null = literal(None, type_=TeamSlotBooking.survey_id.type)
    a = InstallationAssignment
    inst = select(
        a.team_id,
        a.work_date,
        a.time_slot,
        literal("installation", type_=String(20)),
        null,
        a.id,
        null,
        a.id,
        a.created_at,
    ).where(a.released_at.is_(None))
    v = ServiceVisit
    visit = select(
        v.team_id,
        v.visit_date,
        v.time_slot,
        literal("service_visit", type_=String(20)),
        null,
        null,
        v.id,
        v.id,
        v.created_at,
    ).where(v.status.in_(VISIT_HOLDING))
    survey = select(
        Survey.team_id,
        Survey.survey_date,
        Survey.time_slot,
        literal("survey", type_=String(20)),
        Survey.id,
        null,
        null,
        Survey.id,
        Survey.created_at,
    ).where(Survey.status.in_(SURVEY_HOLDING), Survey.team_id.is_not(None))
    return inst, visit, survey


def expected_team_slot_bookings(
    session: Session,
) -> set[tuple[uuid.UUID, date, str, str, uuid.UUID]]:
    """What ``team_slot_booking`` should hold according to the three source tables.

    Returns:
        ``{(team_id, slot_date, time_slot, kind, job_id)}`` (for consistency checks).
    """
    out: set[tuple[uuid.UUID, date, str, str, uuid.UUID]] = set()
    for row in session.execute(union_all(*_holding_jobs())).all():
        team_id, day, slot, kind, survey_id, assignment_id, visit_id, _, _ = row
        out.add((team_id, day, slot, kind, survey_id or assignment_id or visit_id))
    return out


def rebuild_team_slot_bookings(session: Session) -> int:
    """Refill ``team_slot_booking`` from the source tables (after a bulk load such as the demo
    seeder, which writes rows directly). Set-based: one DELETE and three INSERT ... SELECT.

    A job whose slot is already held by another (a clash in the loaded data) gets no row;
    compare with ``expected_team_slot_bookings`` to find such clashes.

    Returns:
        Rows now in the table.
    """
    session.flush()
    session.execute(delete(TeamSlotBooking))
    dialect = session.get_bind().dialect.name
    ins_factory = postgresql.insert if dialect == "postgresql" else sqlite.insert
    cols = [
        "team_id",
        "slot_date",
        "time_slot",
        "kind",
        "survey_id",
        "installation_assignment_id",
        "service_visit_id",
        "id",
        "created_at",
    ]
    for sel in _holding_jobs():
        if dialect == "sqlite":
            sel = sel.where(literal(True))  # INSERT ... SELECT ... ON CONFLICT needs a WHERE
        stmt = ins_factory(TeamSlotBooking).from_select(cols, sel).on_conflict_do_nothing()
        session.execute(stmt)
    return int(session.execute(select(func.count()).select_from(TeamSlotBooking)).scalar_one())
