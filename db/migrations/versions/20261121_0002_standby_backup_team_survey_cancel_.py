"""standby backup team, survey cancel reason, one scheduled survey per team slot

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 18:57:48.467280
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("installation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("standby_team_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_installation_standby_team_id_field_team"),
            "field_team",
            ["standby_team_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=300), nullable=True))
        batch_op.create_index(
            "uq_survey_team_slot_scheduled",
            ["team_id", "survey_date", "time_slot"],
            unique=True,
            postgresql_where=sa.text("status = 'scheduled'"),
            sqlite_where=sa.text("status = 'scheduled'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_survey_team_slot_scheduled",
            postgresql_where=sa.text("status = 'scheduled'"),
            sqlite_where=sa.text("status = 'scheduled'"),
        )
        batch_op.drop_column("cancel_reason")

    with op.batch_alter_table("installation", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_installation_standby_team_id_field_team"), type_="foreignkey"
        )
        batch_op.drop_column("standby_team_id")
