"""segment x month totals per customer-attribute lens, filled from the cube already stored

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None

LENSES = ("size", "region", "industry", "channel")
UNASSIGNED = "Unassigned"
MEASURES = ("revenue", "cost", "uncosted_revenue", "transactions")


def upgrade() -> None:
    op.create_table(
        "segment_months",
        sa.Column("lens", sa.String(length=16), nullable=False),
        sa.Column("segment", sa.String(length=128), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("uncosted_revenue", sa.Float(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("lens", "segment", "month"),
        sqlite_with_rowid=False,
    )
    cube = sa.table("customer_months", *(sa.column(c) for c in ("customer_id", "month", *MEASURES)))
    customers = sa.table("customers", sa.column("customer_id"), *(sa.column(c) for c in LENSES))
    target = sa.table(
        "segment_months",
        *(sa.column(c) for c in ("lens", "segment", "month", *MEASURES, "customers")),
    )
    for lens in LENSES:
        segment = sa.func.coalesce(customers.c[lens], UNASSIGNED)
        select = (
            sa.select(
                sa.literal(lens),
                segment,
                cube.c.month,
                *(sa.func.sum(cube.c[m]) for m in MEASURES),
                sa.func.count(),
            )
            .select_from(cube.outerjoin(customers, customers.c.customer_id == cube.c.customer_id))
            .group_by(segment, cube.c.month)
        )
        op.execute(
            target.insert().from_select(
                ["lens", "segment", "month", *MEASURES, "customers"], select
            )
        )


def downgrade() -> None:
    op.drop_table("segment_months")
