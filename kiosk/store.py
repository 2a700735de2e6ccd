"""The kiosk's own SQLite database: engine with durable pragmas, sessions, and the Alembic upgrade.

Every resident action is written together with its outbox row in one transaction, so the file must survive
a power cut at any instant: WAL journal, ``synchronous=FULL`` (an fsync per commit; with WAL, NORMAL may
lose the last commits on power loss), foreign keys on.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.models import KioskMeta
from protocol.settings import ConfigError

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic (with Mako and Pygments) is imported only where migrations run: the sync agent, which never migrates,
# would otherwise carry some 25 MB of it for its whole life on a Raspberry Pi.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 5000  # the UI and the sync agent share the file; a writer waits this long for the other


def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Autocommit at the driver level, and BEGIN emitted in _on_begin: pysqlite would otherwise start a
    # transaction only at the first write, and a unit of work's reads would not share its writes' snapshot.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _on_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def make_engine(database_path: Path) -> Engine:
    """An engine on the kiosk's SQLite file (created, with its folder, if missing) with the pragmas above."""
    database_path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{database_path}")
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for units of work; nothing is committed unless the caller commits."""
    return sessionmaker(engine, expire_on_commit=False)


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration revision shipped with this code."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` for a fresh file."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, device_id: str) -> str:
    """Apply every pending migration, record the device and schema in ``kiosk_meta``; return the revision.

    Idempotent. Refuses (`ConfigError`) a database that belongs to another device: a copied data partition
    must not send one kiosk's outbox under another's name.
    """
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "head")
    revision = head_revision()
    with make_session_factory(engine).begin() as session:
        recorded = session.get(KioskMeta, "device_id")
        if recorded is not None and recorded.value != device_id:
            raise ConfigError(
                f"the kiosk database belongs to device {recorded.value!r}, not {device_id!r}; "
                "point database_path at this device's own file"
            )
        facts = {
            "device_id": device_id,
            "schema_revision": revision,
            "software_version": version("tinget"),
        }
        if recorded is None:
            facts["created_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        for key, value in facts.items():
            session.merge(KioskMeta(key=key, value=value))
    return revision


def read_meta(session: Session) -> dict[str, str]:
    """Everything in ``kiosk_meta`` as a dict."""
    return {row.key: row.value for row in session.scalars(select(KioskMeta))}
