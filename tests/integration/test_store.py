"""The store opens, migrates itself, and its migrations describe exactly the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from planning.store import schema
from planning.store.engine import data_status, open_store


def test_migrations_create_exactly_the_schema_the_models_describe(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        assert compare_metadata(context, schema.Base.metadata) == []


def test_opening_a_store_twice_keeps_its_data(store_url):
    engine = open_store(store_url)
    with engine.begin() as conn:
        conn.execute(sa.insert(schema.Customer.__table__).values(customer_id="KEEP"))
    engine.dispose()
    engine = open_store(store_url)
    assert data_status(engine).customers == 1
    engine.dispose()


def test_the_embedded_store_runs_in_wal_mode_with_a_busy_timeout(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_an_empty_store_says_it_is_empty(engine):
    status = data_status(engine)
    assert status.is_empty and status.last_import_at is None and status.first_date is None


def test_the_heads_read_off_the_migration_files_are_alembics_own():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from planning.store.engine import REPO_ROOT, head_revisions

    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "alembic"))
    assert head_revisions() == frozenset(ScriptDirectory.from_config(config).get_heads())


def test_a_store_at_the_newest_revision_opens_without_migrating_again(tmp_path):
    from planning.store import engine as store_engine

    url = f"sqlite:///{tmp_path / 'at-heads.db'}"
    store_engine.open_store(url).dispose()
    engine = store_engine.create_store_engine(url)
    assert store_engine._at_heads(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0009'"))
    assert not store_engine._at_heads(engine)  # an older store is migrated as before
    engine.dispose()
    store_engine.open_store(url).dispose()
    engine = store_engine.create_store_engine(url)
    assert store_engine._at_heads(engine)
    engine.dispose()
