"""Fixtures for the hub: a migrated database on SQLite (a fresh file) and on PostgreSQL, settings, app and client.

PostgreSQL: one throw-away database ``tinget_test_<random>`` per test session is created on 127.0.0.1:5432 (user
postgres, trust auth) and migrated; each test gets its own copy of it (``CREATE DATABASE … TEMPLATE``), and
everything is dropped at the end. When no PostgreSQL answers, those tests are skipped with the reason.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from hub.app import create_app
from hub.db import make_engine
from hub.migrate import upgrade
from hub.settings import HubSettings, load_hub_settings
from hub.staff import passwords
from hub.web.context import EXTENSION
from tests.hub.helpers import closed_port, hub_of, write_secret

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
PG_URL = "postgresql://postgres@127.0.0.1:5432/{name}"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at production cost takes ~0.1 s a hash; tests use the same code with tiny parameters."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    monkeypatch.setattr(passwords, "_DUMMY_HASH", None)


def _pg_admin():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(PG_ADMIN, autocommit=True)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated throw-away PostgreSQL database for this session (its name), or a skip with the reason."""
    import psycopg

    try:
        admin = _pg_admin()
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0]
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432 as user postgres: {reason}")
    name = f"tinget_test_{secrets.token_hex(4)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        engine = make_engine(PG_URL.format(name=name))
        upgrade(engine)  # the migrations themselves are what is tested here
        engine.dispose()
        try:
            yield name
        finally:
            for row in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{name}%",)):
                admin.execute(f'DROP DATABASE IF EXISTS "{row[0]}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def hub_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a migrated, empty hub database: a fresh SQLite file, or a fresh copy of the PostgreSQL one."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    template = request.getfixturevalue("postgres_template")
    name = f"{template}_{secrets.token_hex(3)}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield PG_URL.format(name=name)
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(hub_db_url: str, tmp_path: Path) -> HubSettings:
    """Production-like settings (no demo mode) on the test database; the broker port has nothing behind it."""
    return load_hub_settings(
        None,
        database_url=hub_db_url,
        data_dir=tmp_path,
        secret_key_file=write_secret(tmp_path / "secret_key"),
        mqtt_port=closed_port(),
        signin_max_failures=3,
        signin_lockout_seconds=300,
    )


@pytest.fixture
def app(settings: HubSettings) -> Iterator[Flask]:
    """The hub web app, CSRF protection on as in production."""
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions[EXTENSION].engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser-like client (keeps cookies)."""
    return app.test_client()


@pytest.fixture
def session_factory(app: Flask) -> sessionmaker[Session]:
    """Sessions on the app's database, for checking what views stored."""
    return hub_of(app).sessions
