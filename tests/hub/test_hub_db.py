"""The database adapter and the migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from hub.db import DatabaseUnavailable, check_database, make_engine
from hub.migrate import current_revision, head_revision, upgrade
from hub.schema import include_name, metadata
from protocol.settings import ConfigError
from tests.hub.helpers import closed_port


def test_the_migrations_build_exactly_the_tables_the_models_describe(hub_db_url: str) -> None:
    """Models and migrations agree on both databases (a model change without a migration fails here)."""
    engine = make_engine(hub_db_url)
    with engine.connect() as conn:
        options = {"compare_type": True, "include_name": include_name}  # the search index has no model
        differences = compare_metadata(MigrationContext.configure(conn, opts=options), metadata)
    assert current_revision(engine) == head_revision()
    engine.dispose()
    assert differences == []


def test_the_migrations_go_down_and_up_again(hub_db_url: str) -> None:
    """Every migration can be undone, and redone."""
    engine = make_engine(hub_db_url)
    upgrade_to_base = __import__("alembic.command", fromlist=["downgrade"]).downgrade
    from hub.migrate import alembic_config

    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        upgrade_to_base(config, "base")
    assert "audit_entries" not in inspect(engine).get_table_names()
    assert upgrade(engine) == head_revision()
    assert {"audit_entries", "staff_users", "devices", "dead_letters"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_migration_0010_gives_ballots_the_hub_could_not_check_their_own_status(tmp_path: Path) -> None:
    """Rows kept before 0010 as refused with "the hub cannot check …" become "unchecked"; other refusals stay."""
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    assert upgrade(engine, "0009") == "0009"
    row = (
        "INSERT INTO received_actions (device_id, msg_id, batch_id, kind, body, created_at, received_at, status, "
        "reason) VALUES (:d, :m, :m, 'ballot', '{}', '2026-11-30 10:00:00', '2026-11-30 10:00:00', 'refused', :r)"
    )
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO devices (device_id, last_seen) VALUES ('ange', '2026-11-30 10:00:00')"))
        conn.execute(text(row), {"d": "ange", "m": "m1", "r": "the hub cannot check ballots now: no CA file"})
        conn.execute(text(row), {"d": "ange", "m": "m2", "r": "there is no open poll x"})
    assert upgrade(engine) == head_revision()
    with engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT msg_id, status FROM received_actions")).all())
    assert statuses == {"m1": "unchecked", "m2": "refused"}
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    """SQLite: WAL for concurrent readers, foreign keys enforced, a busy timeout for writers."""
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'hub.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
    engine.dispose()


def test_a_postgresql_url_uses_psycopg_3() -> None:
    """postgresql:// means psycopg 3; nothing connects until used."""
    engine = make_engine("postgresql://u:p@db.example.invalid/hub")
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()


@pytest.mark.parametrize("url", ["mysql://x/y", "not a url"])
def test_an_unsupported_database_url_is_a_configuration_error(url: str) -> None:
    """Only SQLite and PostgreSQL are supported, and the message says so."""
    with pytest.raises(ConfigError, match="database_url"):
        make_engine(url)


def test_a_database_that_does_not_answer_raises_a_clear_error() -> None:
    """DatabaseUnavailable names the database, hides the password, and gives the reason in one line."""
    engine = make_engine(f"postgresql://hub:topsecret@127.0.0.1:{closed_port()}/hub")
    with pytest.raises(DatabaseUnavailable) as caught:
        check_database(engine)
    message = str(caught.value)
    assert message.startswith("the database postgresql+psycopg://hub:***@127.0.0.1:")
    assert "topsecret" not in message and "\n" not in message
    engine.dispose()


def test_an_sqlite_file_that_cannot_be_opened_raises_a_clear_error(tmp_path: Path) -> None:
    """A database path that is a directory is reported, not a traceback."""
    (tmp_path / "hub.db").mkdir()
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    with pytest.raises(DatabaseUnavailable, match="unable to open database file"):
        check_database(engine)
    engine.dispose()
