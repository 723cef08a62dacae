"""customer x month cube, filled from the transactions already stored

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_Key = sa.String(length=128).with_variant(sa.String(length=128, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "customer_months",
        sa.Column("customer_id", _Key, nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("uncosted_revenue", sa.Float(), nullable=False),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "month"),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    tx = sa.table(
        "transactions",
        sa.column("customer_id"),
        sa.column("date"),
        sa.column("amount"),
        sa.column("cost"),
    )
    if bind.dialect.name == "sqlite":
        month = sa.func.substr(tx.c.date, 1, 7).op("||")("-01")
    else:
        month = sa.cast(sa.func.date_trunc("month", tx.c.date), sa.Date)
    month = month.label("month")
    cube = sa.table(
        "customer_months",
        *(
            sa.column(c)
            for c in ("customer_id", "month", "revenue", "cost", "uncosted_revenue", "transactions")
        ),
    )
    select = sa.select(
        tx.c.customer_id,
        month,
        sa.func.sum(tx.c.amount),
        sa.func.sum(sa.func.coalesce(tx.c.cost, 0)),
        sa.func.sum(sa.case((tx.c.cost.is_(None), tx.c.amount), else_=0)),
        sa.func.count(),
    ).group_by(tx.c.customer_id, month)
    op.execute(
        cube.insert().from_select(
            ["customer_id", "month", "revenue", "cost", "uncosted_revenue", "transactions"], select
        )
    )


def downgrade() -> None:
    op.drop_table("customer_months")
