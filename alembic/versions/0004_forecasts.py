"""accepted forecasts, their lines and the segment assignment they were made with

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None

_Key = sa.String(length=128).with_variant(sa.String(length=128, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "forecast_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("freq", sa.String(length=8), nullable=False),
        sa.Column("lens", sa.String(length=64), nullable=True),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("reconciliation", sa.String(length=32), nullable=False),
        sa.Column("note", sa.String(length=512), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "forecast_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("series", sa.String(length=128), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("mean", sa.Float(), nullable=False),
        sa.Column("lo_80", sa.Float(), nullable=True),
        sa.Column("hi_80", sa.Float(), nullable=True),
        sa.Column("lo_95", sa.Float(), nullable=True),
        sa.Column("hi_95", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["forecast_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "series", "period"),
    )
    op.create_index("ix_forecast_lines_run_id", "forecast_lines", ["run_id"])
    op.create_table(
        "forecast_assignments",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", _Key, nullable=False),
        sa.Column("segment", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["forecast_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "customer_id"),
    )


def downgrade() -> None:
    op.drop_table("forecast_assignments")
    op.drop_index("ix_forecast_lines_run_id", table_name="forecast_lines")
    op.drop_table("forecast_lines")
    op.drop_table("forecast_runs")
