"""Alembic environment for the kiosk database, run programmatically by `kiosk.store.upgrade` (no ini file)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from kiosk.models import Base

config = context.config
connection = config.attributes.get("connection")


def _run(conn: Connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode rebuilds tables in later migrations.
    context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:  # `alembic -x` style use with a sqlalchemy.url, for a developer generating a migration by hand
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///var/kiosk/kiosk.db")
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
