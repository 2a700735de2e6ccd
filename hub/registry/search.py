"""The public search index and its queries, on SQLite FTS5 or PostgreSQL's ``swedish`` text search.

One row per published document, holding only what the public may read (`hub.registry.rules`): a secret
document is found by its case number, type and board, never by its title or text. SQLite indexes the stems
`protocol.search.index_text` makes and lists each distinct one in ``registry_search_terms``, so that a prefix is
searched as the OR of the terms it covers (docs/decisions.md D50); PostgreSQL makes its own stems with
``to_tsvector('swedish', …)``. Both rank only the newest `protocol.search.WINDOW` matches (D42), so a very
common word costs as little as a rare one.
"""

# ruff: noqa: S608 - the SQL is assembled from fixed fragments; every value is a bound parameter
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from hub.registry.models import Case, Document
from hub.registry.rules import KIND_WORDS, file_is_public, title_is_public
from protocol import search as analysis

TITLE_WEIGHT, META_WEIGHT, BODY_WEIGHT = "A", "B", "D"


@dataclass(frozen=True, slots=True)
class Filters:
    """Narrowing a search: board, document type, and a date range (inclusive)."""

    board: str | None = None
    kind: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """One page of document ids, best first, and how many matched (``more`` when over the window)."""

    ids: list[int]
    total: int
    more: bool


def public_fields(document: Document, case: Case) -> tuple[str, str, str]:
    """(title, meta, body) as the public may search them."""
    title = document.title if title_is_public(document.secrecy) else ""
    meta = [case.number, case.title, case.board, KIND_WORDS.get(document.kind, "")]
    if title_is_public(document.secrecy) and document.counterpart:
        meta.append(document.counterpart)
    has_file = document.file_sha256 is not None
    body = document.text if file_is_public(document.secrecy, document.personal_data, has_file) else ""
    return title, " ".join(meta), body


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def remove(session: Session, document_id: int) -> None:
    """Take a document out of the index (unpublished or weeded)."""
    if _postgres(session):
        session.execute(text("DELETE FROM registry_search WHERE doc_id = :id"), {"id": document_id})
    else:
        session.execute(text("DELETE FROM registry_search WHERE rowid = :id"), {"id": document_id})


def index(session: Session, document: Document, case: Case) -> None:
    """Put a published document in the index as it is now (replacing an older row)."""
    remove(session, document.id)
    title, meta, body = public_fields(document, case)
    row = {
        "id": document.id,
        "board": case.board,
        "kind": document.kind,
        "doc_date": document.document_date,
        "title": title,
        "meta": meta,
        "body": body,
    }
    if _postgres(session):
        session.execute(
            text(
                "INSERT INTO registry_search (doc_id, board, kind, doc_date, tsv) VALUES (:id, :board, :kind, "
                ":doc_date, setweight(to_tsvector('swedish', :title), 'A') || "
                "setweight(to_tsvector('swedish', :meta), 'B') || setweight(to_tsvector('swedish', :body), 'D'))"
            ),
            row,
        )
    else:
        indexed = {
            "title": analysis.index_text(title),
            "meta": analysis.index_text(meta),
            "body": analysis.index_text(body),
        }
        row |= indexed | {"doc_date": document.document_date.isoformat()}
        session.execute(
            text(
                "INSERT INTO registry_search (rowid, title, meta, body, board, kind, doc_date) "
                "VALUES (:id, :title, :meta, :body, :board, :kind, :doc_date)"
            ),
            row,
        )
        add_terms(session, analysis.index_terms(*indexed.values()))


def add_terms(session: Session, terms: set[str]) -> None:
    """Note indexed terms in ``registry_search_terms`` (SQLite), which prefix searches expand over.

    Terms are never taken out: one no document holds any more only costs its prefix an empty OR branch.
    """
    if terms:
        session.execute(
            text("INSERT OR IGNORE INTO registry_search_terms (term) VALUES (:term)"), [{"term": t} for t in terms]
        )


def _filter_sql(filters: Filters, date_column: str) -> tuple[list[str], dict[str, object]]:
    conditions: list[str] = []
    params: dict[str, object] = {}
    if filters.board:
        conditions.append("board = :board")
        params["board"] = filters.board
    if filters.kind:
        conditions.append("kind = :kind")
        params["kind"] = filters.kind
    if filters.date_from:
        conditions.append(f"{date_column} >= :date_from")
        params["date_from"] = filters.date_from
    if filters.date_to:
        conditions.append(f"{date_column} <= :date_to")
        params["date_to"] = filters.date_to
    return conditions, params


def _case_filter(query: analysis.Query, id_column: str) -> tuple[list[str], dict[str, object]]:
    if not query.case_numbers:
        return [], {}
    names = {f"case{i}": number for i, number in enumerate(query.case_numbers)}
    subquery = (
        "SELECT d.id FROM registry_documents d JOIN registry_cases c ON c.id = d.case_id "
        f"WHERE c.number IN ({', '.join(':' + n for n in names)})"
    )
    return [f"{id_column} IN ({subquery})"], dict(names)


def find(session: Session, query: analysis.Query, filters: Filters, *, limit: int = 20, offset: int = 0) -> Found:
    """The ids of published documents matching ``query`` and ``filters``, best first."""
    if query.empty:
        return Found([], 0, False)
    postgres = _postgres(session)
    conditions, params = _filter_sql(filters, "doc_date")
    if postgres is False:
        params = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in params.items()}
    more_conditions, more_params = _case_filter(query, "doc_id" if postgres else "rowid")
    conditions += more_conditions
    params |= more_params | {"window": analysis.WINDOW, "limit": limit, "offset": offset}
    if not query.terms:
        where = " AND ".join(conditions)
        id_column = "doc_id" if postgres else "rowid"
        page = (
            f"SELECT {id_column} FROM registry_search WHERE {where} "
            f"ORDER BY {id_column} DESC LIMIT :limit OFFSET :offset"
        )
        count = f"SELECT count(*) FROM (SELECT 1 FROM registry_search WHERE {where} LIMIT :window + 1) AS w"
    elif postgres:
        params["q"] = analysis.tsquery_text(query)
        if params["q"] is None:
            return Found([], 0, False)
        where = " AND ".join(["tsv @@ to_tsquery('swedish', :q)", *conditions])
        # Only ids in the window, then the window's vectors by key: a window of wide rows would carry every
        # match's tsvector through the sort.
        window = f"SELECT doc_id FROM registry_search WHERE {where} ORDER BY doc_id DESC LIMIT :window"
        # The window's size comes with the page (a window function over at most WINDOW rows): a separate count
        # would make PostgreSQL build the bitmap of every match of a common word (measured: +85 ms at 500,000).
        page = (
            f"SELECT s.doc_id, count(*) OVER () FROM ({window}) AS w JOIN registry_search s ON s.doc_id = w.doc_id "
            "ORDER BY ts_rank(s.tsv, to_tsquery('swedish', :q)) DESC, s.doc_id DESC LIMIT :limit OFFSET :offset"
        )
        rows = session.execute(text(page), params).all()
        if rows or params["offset"] == 0:
            total = int(rows[0][1]) if rows else 0
            return Found([int(row[0]) for row in rows], total, total >= analysis.WINDOW)
        count = f"SELECT count(*) FROM ({window}) AS w"
    else:
        expansions = analysis.prefix_expansions(
            query, "registry_search_terms", lambda sql, values: list(session.scalars(text(sql), values))
        )
        params["q"] = analysis.fts5_expression(query, expansions)
        page, count = analysis.fts5_window_sql("registry_search", conditions)
    ids = [int(row[0]) for row in session.execute(text(page), params)]
    total = int(session.execute(text(count), params).scalar() or 0)
    return Found(ids, min(total, analysis.WINDOW), total > analysis.WINDOW)
