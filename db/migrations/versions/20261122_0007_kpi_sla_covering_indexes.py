"""covering indexes for the KPI SLA scan: installation (lead_id, completed_at, install_level),
lead (id, oem_id, zone_id, received_at)

``domain.kpi.queries.period_completions`` reads a period's completions in lead order from the
installation index and each lead's OEM, zone and received time from the lead index, without
the wide rows (on SQLite 2-3x faster at 500,000 leads; PostgreSQL keeps its hash joins).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lead_sla_cover", ["id", "oem_id", "zone_id", "received_at"], unique=False
        )
    with op.batch_alter_table("installation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_installation_lead_completed",
            ["lead_id", "completed_at", "install_level"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("installation", schema=None) as batch_op:
        batch_op.drop_index("ix_installation_lead_completed")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_sla_cover")
