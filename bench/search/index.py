"""Building the hub's search index for the benchmark, on SQLite and on PostgreSQL, through the hub's migrations.

The index is the product's own (migrations 0006 and 0008): SQLite gets Swedish stems from `protocol.search.index_text`,
PostgreSQL makes its own with ``to_tsvector('swedish', …)``. The registry's other tables stay empty: search
needs only the index, so the PostgreSQL index loses its foreign key here (the one thing not as in production).
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.search.corpus import documents
from hub.db import make_engine
from hub.migrate import upgrade
from protocol.search import index_text

BATCH = 5000
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"


def build_sqlite(path: Path, count: int) -> tuple[str, float]:
    """A migrated SQLite hub with ``count`` documents indexed; (url, seconds to index them)."""
    import sqlite3

    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    started = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")  # a bulk load: one commit at the end matters, not each batch
    rows = []
    insert = "INSERT INTO registry_search (rowid, title, meta, body, board, kind, doc_date) VALUES (?,?,?,?,?,?,?)"
    for d in documents(count):
        meta = f"{d.case_number} {d.board}"
        rows.append((d.id, index_text(d.title), index_text(meta), index_text(d.body), d.board, d.kind, d.date))
        if len(rows) >= BATCH:
            db.executemany(insert, rows)
            rows.clear()
    db.executemany(insert, rows)
    db.execute("INSERT INTO registry_search (registry_search) VALUES ('optimize')")
    # The term list prefix searches expand over, filled as migration 0008 fills it (the hub's `search.index`
    # adds each document's terms as it goes; a bulk load lists them once at the end).
    db.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, registry_search, 'row')")
    db.execute("INSERT OR IGNORE INTO registry_search_terms (term) SELECT term FROM temp.vocab")
    db.commit()
    db.close()
    return url, time.perf_counter() - started


def postgres_reachable() -> str | None:
    """None when PostgreSQL answers on 127.0.0.1:5432 as postgres, else why not."""
    import psycopg

    try:
        psycopg.connect(PG_ADMIN).close()
    except psycopg.OperationalError as exc:
        return str(exc).strip().splitlines()[0]
    return None


def build_postgres(name: str, count: int) -> tuple[str, float]:
    """A migrated throw-away PostgreSQL hub ``name`` with ``count`` documents indexed; (url, seconds)."""
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    started = time.perf_counter()
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={name}", autocommit=True) as db:
        db.execute("ALTER TABLE registry_search DROP CONSTRAINT IF EXISTS registry_search_doc_id_fkey")
        db.execute("DROP INDEX registry_search_tsv")  # built once after the load, as a restore would
        db.execute(
            "CREATE UNLOGGED TABLE stage (id int, title text, meta text, body text, board text, kind text, "
            "doc_date date)"
        )
        with db.cursor().copy("COPY stage FROM STDIN") as copy:
            for d in documents(count):
                copy.write_row((d.id, d.title, f"{d.case_number} {d.board}", d.body, d.board, d.kind, d.date))
        db.execute(
            "INSERT INTO registry_search (doc_id, board, kind, doc_date, tsv) SELECT id, board, kind, doc_date, "
            "setweight(to_tsvector('swedish', title), 'A') || setweight(to_tsvector('swedish', meta), 'B') || "
            "setweight(to_tsvector('swedish', body), 'D') FROM stage"
        )
        db.execute("DROP TABLE stage")
        db.execute("CREATE INDEX registry_search_tsv ON registry_search USING gin (tsv)")
        db.execute("VACUUM ANALYZE registry_search")
    return url, time.perf_counter() - started


def drop_postgres(name: str) -> None:
    """Remove the benchmark's database."""
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
