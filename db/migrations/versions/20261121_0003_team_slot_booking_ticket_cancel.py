"""one shared team-slot table (team_slot_booking) with backfill; service ticket cancel reason

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 19:45:30.446101
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Jobs that hold their team's slot (domain/slots.py): unreleased installation assignments,
# booked/completed service visits, surveys not cancelled; the booking takes the job's id and
# created_at (as ``rebuild_team_slot_bookings`` does). Installations first: on a clash in
# existing data the first job keeps the slot (ON CONFLICT DO NOTHING) instead of failing the
# upgrade. The WHERE is also what SQLite's INSERT ... SELECT ... ON CONFLICT parser needs.
_COLUMNS = (
    "id, team_id, slot_date, time_slot, kind, survey_id, installation_assignment_id, "
    "service_visit_id, created_at"
)
_BACKFILL = (
    "SELECT a.id, a.team_id, a.work_date, a.time_slot, 'installation', NULL, a.id, NULL, "
    "a.created_at FROM installation_assignment a WHERE a.released_at IS NULL",
    "SELECT v.id, v.team_id, v.visit_date, v.time_slot, 'service_visit', NULL, NULL, v.id, "
    "v.created_at FROM service_visit v WHERE v.status IN ('booked', 'completed')",
    "SELECT s.id, s.team_id, s.survey_date, s.time_slot, 'survey', s.id, NULL, NULL, "
    "s.created_at FROM survey s WHERE s.status <> 'cancelled' AND s.team_id IS NOT NULL",
)


def _backfill() -> None:
    for select in _BACKFILL:
        op.execute(
            sa.text(f"INSERT INTO team_slot_booking ({_COLUMNS}) {select} ON CONFLICT DO NOTHING")
        )


def upgrade() -> None:
    op.create_table(
        "team_slot_booking",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("slot_date", sa.Date(), nullable=False),
        sa.Column("time_slot", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("survey_id", sa.Uuid(), nullable=True),
        sa.Column("installation_assignment_id", sa.Uuid(), nullable=True),
        sa.Column("service_visit_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'survey' AND survey_id IS NOT NULL AND installation_assignment_id IS NULL AND service_visit_id IS NULL) OR (kind = 'installation' AND survey_id IS NULL AND installation_assignment_id IS NOT NULL AND service_visit_id IS NULL) OR (kind = 'service_visit' AND survey_id IS NULL AND installation_assignment_id IS NULL AND service_visit_id IS NOT NULL)",
            name=op.f("ck_team_slot_booking_ref_matches_kind"),
        ),
        sa.CheckConstraint(
            "kind IN ('survey', 'installation', 'service_visit')",
            name=op.f("ck_team_slot_booking_kind_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["installation_assignment_id"],
            ["installation_assignment.id"],
            name=op.f("fk_team_slot_booking_installation_assignment_id_installation_assignment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_visit_id"],
            ["service_visit.id"],
            name=op.f("fk_team_slot_booking_service_visit_id_service_visit"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["survey.id"],
            name=op.f("fk_team_slot_booking_survey_id_survey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["field_team.id"],
            name=op.f("fk_team_slot_booking_team_id_field_team"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_slot_booking")),
        sa.UniqueConstraint(
            "installation_assignment_id",
            name=op.f("uq_team_slot_booking_installation_assignment_id"),
        ),
        sa.UniqueConstraint("service_visit_id", name=op.f("uq_team_slot_booking_service_visit_id")),
        sa.UniqueConstraint("survey_id", name=op.f("uq_team_slot_booking_survey_id")),
        sa.UniqueConstraint(
            "team_id",
            "slot_date",
            "time_slot",
            name=op.f("uq_team_slot_booking_team_id_slot_date_time_slot"),
        ),
    )
    with op.batch_alter_table("service_ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column("cancelled_at", db.types.UTCDateTime(timezone=True), nullable=True)
        )

    _backfill()


def downgrade() -> None:
    with op.batch_alter_table("service_ticket", schema=None) as batch_op:
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("cancel_reason")

    op.drop_table("team_slot_booking")
