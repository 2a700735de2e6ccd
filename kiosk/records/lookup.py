"""What the kiosk UI reads of the records: search, a document, the notice board, the hub's public address.

All from the kiosk's own database, so it works the same with the hub away. Search is the hub's search on
SQLite (`protocol.search`): the same analysis, the same ranking window, the same snippets.
"""

# ruff: noqa: S608 - the SQL is assembled from fixed fragments; every value is a bound parameter
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from kiosk import replica
from kiosk.records.models import DocumentRow
from protocol import search as analysis

PER_PAGE = 10  # results per touch screen page


@dataclass(frozen=True, slots=True)
class Hit:
    """One result: the document, its title and a snippet with the matched words marked."""

    document: DocumentRow
    title: list[tuple[str, bool]]
    snippet: list[tuple[str, bool]]


@dataclass(frozen=True, slots=True)
class Results:
    """A page of results."""

    hits: list[Hit]
    total: int
    more: bool
    page: int

    @property
    def pages(self) -> int:
        """How many pages the capped matches fill."""
        return max(1, -(-self.total // PER_PAGE))


def _expansions(session: Session, query: analysis.Query) -> dict[str, tuple[str, ...]]:
    return analysis.prefix_expansions(
        query, "catalogue_search_terms", lambda sql, values: list(session.scalars(text(sql), values))
    )


def search(
    session: Session,
    raw: str,
    *,
    board: str | None = None,
    kind: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    page: int = 1,
) -> Results:
    """Search the kiosk's catalogue; ``raw`` is what the resident typed (operators and quotes are harmless).

    Filters as at the hub: board, type, and a date range (inclusive) on the document's date.
    """
    query = analysis.parse_query(raw)
    if query.empty:
        return Results([], 0, False, 1)
    conditions: list[str] = []
    params: dict[str, Any] = {"window": analysis.WINDOW, "limit": PER_PAGE}
    if board:
        conditions.append("board = :board")
        params["board"] = board
    if kind:
        conditions.append("kind = :kind")
        params["kind"] = kind
    if date_from:
        conditions.append("doc_date >= :date_from")  # ISO dates in the index: text order is date order
        params["date_from"] = date_from.isoformat()
    if date_to:
        conditions.append("doc_date <= :date_to")
        params["date_to"] = date_to.isoformat()
    if query.case_numbers:
        names = {f"case{i}": number for i, number in enumerate(query.case_numbers)}
        placeholders = ", ".join(":" + name for name in names)
        conditions.append(f"rowid IN (SELECT id FROM catalogue_documents WHERE case_number IN ({placeholders}))")
        params |= names
    page = max(1, min(page, analysis.WINDOW // PER_PAGE))
    params["offset"] = (page - 1) * PER_PAGE
    if query.terms:
        params["q"] = analysis.fts5_expression(query, _expansions(session, query))
        ranked, count = analysis.fts5_window_sql("catalogue_search", conditions)
    else:
        where = " AND ".join(conditions)
        ranked = f"SELECT rowid FROM catalogue_search WHERE {where} ORDER BY rowid DESC LIMIT :limit OFFSET :offset"
        count = f"SELECT count(*) FROM (SELECT 1 FROM catalogue_search WHERE {where} LIMIT :window + 1)"
    ids = [int(row[0]) for row in session.execute(text(ranked), params)]
    total = int(session.execute(text(count), params).scalar() or 0)
    rows = {d.id: d for d in session.scalars(select(DocumentRow).where(DocumentRow.id.in_(ids)))}
    hits = [
        Hit(d, analysis.highlight(d.title or d.number, query), analysis.snippet(d.text or d.case_title, query))
        for d in (rows[i] for i in ids if i in rows)
    ]
    return Results(hits, min(total, analysis.WINDOW), total > analysis.WINDOW, page)


def suggestions(session: Session, raw: str, limit: int = 6) -> list[str]:
    """Titles to offer while the resident types: documents matching the words so far, the last as a prefix."""
    words = analysis.words(raw)[-4:]
    if not words or len(words[-1]) < 2:
        return []
    query = analysis.parse_query(" ".join([*words[:-1], words[-1] + "*"]))
    expression = analysis.fts5_expression(query, _expansions(session, query))
    if expression is None:
        return []
    ranked, _count = analysis.fts5_window_sql("catalogue_search")
    ids = [
        int(row[0])
        for row in session.execute(text(ranked), {"q": expression, "window": 200, "limit": limit * 2, "offset": 0})
    ]
    titles = session.scalars(select(DocumentRow.title).where(DocumentRow.id.in_(ids), DocumentRow.title != ""))
    return list(dict.fromkeys(titles))[:limit]


def find_document(session: Session, document_id: int) -> DocumentRow | None:
    """A document of the catalogue, or None."""
    return session.get(DocumentRow, document_id)


def latest(session: Session, limit: int = 8) -> list[DocumentRow]:
    """The newest documents (for an empty search screen)."""
    return list(
        session.scalars(select(DocumentRow).order_by(DocumentRow.doc_date.desc(), DocumentRow.id.desc()).limit(limit))
    )


def boards(session: Session) -> list[str]:
    """The boards the catalogue has documents from."""
    return list(session.scalars(select(DocumentRow.board).distinct().order_by(DocumentRow.board)))


def manifest(engine: Engine) -> dict[str, Any]:
    """The catalogue manifest the kiosk holds ({} before the first)."""
    current = replica.current(engine, "catalogue")
    return current.content if current is not None else {}


def notices_today(engine: Engine, today: dt.date) -> list[dict[str, Any]]:
    """Notices to show today, by the kiosk's own clock (so one comes down on time while offline)."""
    iso = today.isoformat()
    found = [
        n for n in manifest(engine).get("notices", []) if n.get("posted_on", "") <= iso <= n.get("takedown_on", "")
    ]
    return sorted(found, key=lambda n: (n["posted_on"], n["id"]), reverse=True)


def public_url(engine: Engine) -> str | None:
    """The hub's public web address, for QR codes (None before the first catalogue)."""
    url = manifest(engine).get("public_url")
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None
