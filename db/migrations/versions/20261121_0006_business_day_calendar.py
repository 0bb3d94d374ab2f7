"""business_day calendar: running business-day ordinals per holiday subdivision

The table is derived data (``domain.business_calendar``): it starts empty and is filled from
the ``holidays`` package by the seeder and, on demand, by the SLA queries.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "business_day",
        sa.Column("subdiv", sa.String(length=4), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("business", sa.Boolean(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("subdiv", "day", name=op.f("pk_business_day")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("business_day")
