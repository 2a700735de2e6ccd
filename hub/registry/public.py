"""The registry as the public sees it (web pages, the open-data API, feeds): only what may leave the hub.

Every function answers with `hub.registry.catalogue.document_entry` dictionaries, the same view kiosks get,
so a secret document shows the same few facts everywhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.registry import catalogue, search
from hub.registry.models import Case, Document, Notice
from protocol import search as analysis

PER_PAGE = 20


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: the public entry, its title and a text snippet with the matched words marked."""

    entry: dict[str, Any]
    title: list[tuple[str, bool]]
    snippet: list[tuple[str, bool]]


@dataclass(frozen=True, slots=True)
class Results:
    """One page of results."""

    query: analysis.Query
    hits: list[Hit]
    total: int
    more: bool
    page: int

    @property
    def pages(self) -> int:
        """How many pages the (capped) matches fill."""
        return max(1, -(-self.total // PER_PAGE))


def entries(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    """Public entries of these published documents, in the order of ``ids``."""
    rows = {d.id: catalogue.document_entry(d, c, f) for d, c, f in catalogue.published_rows(session, ids)}
    return [rows[i] for i in ids if i in rows]


def find_documents(session: Session, raw: str, filters: search.Filters, page: int = 1) -> Results:
    """Search the public registry; ``raw`` is what a person typed."""
    query = analysis.parse_query(raw)
    page = max(1, min(page, analysis.WINDOW // PER_PAGE))
    found = search.find(session, query, filters, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    hits = []
    for entry in entries(session, found.ids):
        title = entry["title"] or entry["number"]
        text = entry["text"] or entry["case_title"]
        hits.append(Hit(entry, analysis.highlight(title, query), analysis.snippet(text, query)))
    return Results(query, hits, found.total, found.more, page)


def latest_documents(
    session: Session, *, kind: str | None = None, limit: int = PER_PAGE, offset: int = 0
) -> list[dict[str, Any]]:
    """The most recently published documents (of one type)."""
    query = select(Document.id).where(Document.published_at.is_not(None))
    if kind:
        query = query.where(Document.kind == kind)
    ids = list(
        session.scalars(query.order_by(Document.published_at.desc(), Document.id.desc()).limit(limit).offset(offset))
    )
    return entries(session, ids)


def find_document(session: Session, document_id: int) -> dict[str, Any] | None:
    """A published document's public entry, or None."""
    found = entries(session, [document_id])
    return found[0] if found else None


def count_published(session: Session) -> int:
    """How many documents are published."""
    return int(
        session.scalar(select(func.count()).select_from(Document).where(Document.published_at.is_not(None))) or 0
    )


def case_entry(case: Case) -> dict[str, Any]:
    """A case as the public sees it."""
    return {
        "id": case.id,
        "number": case.number,
        "title": case.title,
        "board": case.board,
        "status": case.status,
        "opened_on": case.opened_on.isoformat(),
        "closed_on": case.closed_on.isoformat() if case.closed_on else None,
    }


def public_cases(session: Session, *, limit: int, offset: int) -> list[dict[str, Any]]:
    """Cases with at least one published document, newest first."""
    has_public = select(Document.case_id).where(Document.published_at.is_not(None))
    cases = session.scalars(
        select(Case).where(Case.id.in_(has_public)).order_by(Case.id.desc()).limit(limit).offset(offset)
    )
    return [case_entry(c) for c in cases]


def public_case(session: Session, case_id: int) -> dict[str, Any] | None:
    """A case with its published documents, or None when it has none."""
    case = session.get(Case, case_id)
    if case is None:
        return None
    ids = list(
        session.scalars(
            select(Document.id)
            .where(Document.case_id == case_id, Document.published_at.is_not(None))
            .order_by(Document.serial)
        )
    )
    if not ids:
        return None
    return {**case_entry(case), "documents": entries(session, ids)}


def notice_entry(notice: Notice) -> dict[str, Any]:
    """A notice as the public sees it."""
    return {
        "id": notice.id,
        "title": notice.title,
        "body": notice.body,
        "board": notice.board,
        "document_id": notice.document_id,
        "posted_on": notice.posted_on.isoformat(),
        "takedown_on": notice.takedown_on.isoformat(),
    }


def notices_today(session: Session, today: dt.date | None = None) -> list[dict[str, Any]]:
    """The notice board today."""
    from hub.registry.notices import current_notices

    return [notice_entry(n) for n in current_notices(session, today or dt.date.today())]
