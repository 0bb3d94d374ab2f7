"""reporting queue, report versions, closure pack revisions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_request",
        sa.Column("report_type", sa.String(length=20), nullable=False),
        sa.Column("oem_id", sa.Uuid(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("force", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("report_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "report_type IN ('weekly', 'monthly')", name=op.f("ck_report_request_report_type_valid")
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')",
            name=op.f("ck_report_request_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["oem_id"], ["oem.id"], name=op.f("fk_report_request_oem_id_oem"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["app_user.id"],
            name=op.f("fk_report_request_requested_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_request")),
    )
    with op.batch_alter_table("report_request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_request_status_created", ["status", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_report_request_pending",
            ["report_type", "oem_id", "period_start"],
            unique=True,
            postgresql_where=sa.text("status IN ('queued', 'running')"),
            sqlite_where=sa.text("status IN ('queued', 'running')"),
        )

    op.create_table(
        "report_version",
        sa.Column("report_type", sa.String(length=20), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("report_file", sa.String(length=300), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "report_type IN ('weekly', 'monthly')", name=op.f("ck_report_version_report_type_valid")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["app_user.id"],
            name=op.f("fk_report_version_created_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_version")),
        sa.UniqueConstraint(
            "report_type",
            "report_id",
            "version",
            name=op.f("uq_report_version_report_type_report_id_version"),
        ),
    )
    op.create_table(
        "closure_pack_revision",
        sa.Column("closure_pack_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("report_file", sa.String(length=300), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["closure_pack_id"],
            ["closure_pack.id"],
            name=op.f("fk_closure_pack_revision_closure_pack_id_closure_pack"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["app_user.id"],
            name=op.f("fk_closure_pack_revision_created_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_closure_pack_revision")),
        sa.UniqueConstraint(
            "closure_pack_id",
            "version",
            name=op.f("uq_closure_pack_revision_closure_pack_id_version"),
        ),
    )
    with op.batch_alter_table("closure_pack", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("compiled_at", db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("report_file", sa.String(length=300), nullable=True))

    with op.batch_alter_table("monthly_report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("details", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )

    with op.batch_alter_table("weekly_report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("details", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )


def downgrade() -> None:
    with op.batch_alter_table("weekly_report", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("details")

    with op.batch_alter_table("monthly_report", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("details")

    with op.batch_alter_table("closure_pack", schema=None) as batch_op:
        batch_op.drop_column("report_file")
        batch_op.drop_column("compiled_at")

    op.drop_table("closure_pack_revision")
    op.drop_table("report_version")
    with op.batch_alter_table("report_request", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_report_request_pending",
            postgresql_where=sa.text("status IN ('queued', 'running')"),
            sqlite_where=sa.text("status IN ('queued', 'running')"),
        )
        batch_op.drop_index("ix_report_request_status_created")

    op.drop_table("report_request")
