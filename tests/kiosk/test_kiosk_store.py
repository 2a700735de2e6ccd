"""The kiosk's own SQLite: migrations, durable pragmas, and the device it belongs to."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text


@pytest.fixture
def engine(tmp_path):
    from kiosk.store import make_engine

    engine = make_engine(tmp_path / "data" / "kiosk.db")
    yield engine
    engine.dispose()


def test_migrations_create_the_tables_on_a_fresh_file(engine):
    from kiosk.store import current_revision, head_revision, upgrade

    assert current_revision(engine) is None
    assert upgrade(engine, "ange") == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {"kiosk_meta", "outbox", "alembic_version"} <= tables
    columns = {c["name"]: c for c in inspect(engine).get_columns("outbox")}
    assert set(columns) == {"id", "kind", "body", "created_at", "delivered_at", "attempts"}
    assert columns["delivered_at"]["nullable"] is True
    assert current_revision(engine) == head_revision()


def test_migrations_are_idempotent(engine):
    from kiosk.store import head_revision, make_session_factory, read_meta, upgrade

    upgrade(engine, "ange")
    with make_session_factory(engine)() as session:
        first = read_meta(session)
    upgrade(engine, "ange")
    with make_session_factory(engine)() as session:
        second = read_meta(session)
    assert first == second
    assert second["device_id"] == "ange"
    assert second["schema_revision"] == head_revision()


def test_a_database_of_another_device_is_refused(engine):
    from kiosk.store import upgrade
    from protocol.settings import ConfigError

    upgrade(engine, "ange")
    with pytest.raises(ConfigError, match="belongs to device 'ange'"):
        upgrade(engine, "follinge")


def test_every_connection_is_durable_wal_with_foreign_keys(engine):
    """SEC-11: a confirmed action survives a power cut (fsync per commit)."""
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_unit_of_work_reads_and_writes_in_one_transaction(engine):
    from kiosk.store import upgrade

    upgrade(engine, "ange")
    with engine.connect() as connection:
        connection.execute(text("SELECT count(*) FROM outbox")).scalar()
        assert connection.in_transaction()
        assert connection.connection.dbapi_connection.in_transaction  # BEGIN was really sent to SQLite
        connection.rollback()
