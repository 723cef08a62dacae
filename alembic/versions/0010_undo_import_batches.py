"""undo of import batches: who undid a batch and when; a file can be imported again after
its batch was undone

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26

An undone batch keeps its row (provenance: what was imported, and that it was taken back), so
(kind, checksum) stays unique only among batches that are not undone: the unique constraint
becomes a partial unique index ``WHERE undone_at IS NULL`` on both stores.

SQLite cannot drop a constraint, so import_batches is rebuilt. Customers, activity rates and
program spend reference it, and ``PRAGMA foreign_keys`` cannot be switched off inside the
migration's transaction, so the rebuild defers foreign keys instead: dropping the table counts
the rows that lose their parent, and inserting the same batches into the new table (under the
same name) counts them found again, so the check at commit passes only if every reference
still holds. (Alembic's batch mode renames a copy into place, which finds nothing again.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_INDEX = "ux_import_batches_kind_checksum"
_NOT_UNDONE = sa.text("undone_at IS NULL")
_COPY = "_import_batches_0010"


def _columns(with_undo: bool) -> list[sa.Column]:
    columns = [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("file_name", sa.String(length=512), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_added", sa.Integer(), nullable=False),
        sa.Column("rows_skipped", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("mapping", sa.String(length=2048), nullable=False),
    ]
    if with_undo:
        columns += [
            sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("undone_by", sa.String(length=128), nullable=True),
        ]
    return columns


def _rebuild_sqlite(with_undo: bool) -> None:
    """Recreate import_batches (see the module docstring); its rows keep their ids."""
    kept = ", ".join(c.name for c in _columns(with_undo=False))
    # Python's sqlite3 opens a transaction only before a DML statement, and the pragma lasts
    # until the transaction ends: open it here, so the rebuild is also all or nothing.
    if not op.get_bind().connection.dbapi_connection.in_transaction:
        op.execute("BEGIN")
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute(f"CREATE TEMP TABLE {_COPY} AS SELECT {kept} FROM import_batches")
    op.drop_table("import_batches")
    constraints: list[sa.Constraint] = [sa.PrimaryKeyConstraint("id")]
    if not with_undo:
        constraints.append(sa.UniqueConstraint("kind", "checksum"))
    op.create_table("import_batches", *_columns(with_undo), *constraints)
    op.execute(f"INSERT INTO import_batches ({kept}) SELECT {kept} FROM temp.{_COPY} ORDER BY id")
    op.execute(f"DROP TABLE temp.{_COPY}")


def _unique_constraint_name() -> str | None:
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints("import_batches"):
        if sorted(constraint["column_names"]) == ["checksum", "kind"]:
            return constraint["name"]
    return None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(with_undo=True)
    else:
        name = _unique_constraint_name()
        if name is not None:
            op.drop_constraint(name, "import_batches", type_="unique")
        op.add_column(
            "import_batches", sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True)
        )
        op.add_column(
            "import_batches", sa.Column("undone_by", sa.String(length=128), nullable=True)
        )
    op.create_index(
        _INDEX,
        "import_batches",
        ["kind", "checksum"],
        unique=True,
        sqlite_where=_NOT_UNDONE,
        postgresql_where=_NOT_UNDONE,
    )


def downgrade() -> None:
    # A file imported again after its batch was undone holds a second (kind, checksum): the
    # unique constraint cannot come back over it, and the failed downgrade changes nothing.
    op.drop_index(_INDEX, table_name="import_batches")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(with_undo=False)
    else:
        op.drop_column("import_batches", "undone_by")
        op.drop_column("import_batches", "undone_at")
        op.create_unique_constraint(
            "import_batches_kind_checksum_key", "import_batches", ["kind", "checksum"]
        )
