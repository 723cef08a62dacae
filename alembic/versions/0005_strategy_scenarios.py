"""customer strategy (treatments per segment, CRM initiatives) and what-if scenarios

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def _audit() -> list[sa.Column]:
    return [
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "treatments",
        sa.Column("segment", sa.String(length=128), primary_key=True),
        sa.Column("service_tier", sa.String(length=32), nullable=False),
        sa.Column("payment_terms_days", sa.Integer(), nullable=False),
        sa.Column("credit_limit", sa.Float(), nullable=False),
        sa.Column("contact_cadence_days", sa.Integer(), nullable=False),
        sa.Column("eligible_programs", sa.String(length=256), nullable=False),
        *_audit(),
    )
    op.create_table(
        "initiatives",
        sa.Column("name", sa.String(length=256), primary_key=True),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("complexity", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        *_audit(),
    )
    op.create_table(
        "scenarios",
        sa.Column("name", sa.String(length=128), primary_key=True),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("budget", sa.Float(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scenarios")
    op.drop_table("initiatives")
    op.drop_table("treatments")
