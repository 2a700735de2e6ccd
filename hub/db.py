"""The hub's database adapter: one engine per process, sessions, and a unit of work.

SQLite (WAL, foreign keys on) is the default; PostgreSQL is reached through psycopg 3 with the same code. A
database that does not answer surfaces as `DatabaseUnavailable`, with a message that names the database (never
its password).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from protocol.settings import ConfigError

SQLITE_BUSY_TIMEOUT_MS = 10_000  # a writer waits this long for another (BEGIN IMMEDIATE) before giving up
POSTGRES_CONNECT_TIMEOUT_S = 5  # a hub whose database is away should say so quickly, not hang a request
WRITE_OPTION = "tinget_write"  # execution option: this transaction will write (SQLite: BEGIN IMMEDIATE)


class DatabaseUnavailable(Exception):
    """The database cannot be reached or opened. The message says which database and why, without secrets."""


class Base(DeclarativeBase):
    """Declarative base of every hub table; constraint names are stable so migrations can refer to them."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on both databases (SQLite keeps no zone, so we put UTC back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    """Now, in UTC, with the microseconds both databases keep."""
    return dt.datetime.now(dt.UTC)


def database_url(raw: str) -> URL:
    """Parse a database URL; ``postgresql://`` means psycopg 3. A malformed URL is a `ConfigError`."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(f"database_url {raw!r} is not a database URL (e.g. sqlite:///var/hub/hub.db)") from None
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return url.set(drivername="postgresql+psycopg")
    if url.drivername in ("sqlite", "sqlite+pysqlite"):
        return url
    raise ConfigError(f"database_url: only sqlite:/// and postgresql:// are supported, not {url.drivername}://")


def describe(url: URL | Engine) -> str:
    """The URL as it may be shown to a person: the password is replaced by ``***``."""
    if isinstance(url, Engine):
        url = url.url
    return url.render_as_string(hide_password=True)


def make_engine(raw_url: str) -> Engine:
    """An engine for ``raw_url`` with the hub's connection rules. Nothing connects until first use."""
    url = database_url(raw_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        _sqlite_rules(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S})
    _unavailable_rules(engine)
    return engine


def _sqlite_rules(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We emit BEGIN ourselves (below), so that a writing unit of work can take the write lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock now: two writers never both read a stale snapshot and then collide.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN")


def _unavailable_rules(engine: Engine) -> None:
    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> BaseException | None:
        if context.is_pre_ping:
            return None  # the pool handles a stale connection itself
        if context.connection is None or context.is_disconnect:
            reason = str(context.original_exception).strip().splitlines()
            return DatabaseUnavailable(
                f"the database {describe(engine)} does not answer: {reason[0] if reason else 'no reason given'}"
            )
        return None


def check_database(engine: Engine) -> None:
    """Run ``SELECT 1``; raise `DatabaseUnavailable` with a clear message when the database is away."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay usable after commit (views render them after the unit of work)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session], *, write: bool = True) -> Iterator[Session]:
    """A session whose work is committed when the block ends normally and rolled back when it raises."""
    session = factory()
    try:
        if write:
            session.connection(execution_options={WRITE_OPTION: True})
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
