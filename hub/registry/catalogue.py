"""What kiosks receive of the registry: a small manifest (the ``catalogue`` set) naming content-addressed chunks.

A single set holding every document would be re-sent whole (tens of MB for 100,000 documents) and re-indexed
whole by every kiosk after each change. Instead documents are grouped by id into chunks of `CHUNK_SIZE`; each
chunk's canonical bytes are stored under their SHA-256 and served by the device API, and the ``catalogue`` set
is only the list of (chunk number, SHA-256, count) plus the notice board and the hub's public address. A change
to one document rewrites one chunk and the manifest; a kiosk fetches the chunks whose hash it does not hold
(docs/decisions.md D43). The manifest is verified as every set is (SEC-12), and each chunk by its hash.

Only what may leave the hub is written (`hub.registry.rules`): nothing of a secret document but its number,
type, board and date; no text or file of a document with personal data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.db import utcnow
from hub.registry.models import Case, CatalogueChunk, Document, Notice, StoredFile
from hub.registry.rules import file_is_public, title_is_public
from protocol import codec
from protocol.search import clean_text

CHUNK_SIZE = 1000
CATALOGUE_FORMAT = 1
KIOSK_TEXT_CHARS = 30_000  # text a kiosk holds per document for offline search and snippets


def chunk_of(document_id: int) -> int:
    """The chunk a document belongs to."""
    return document_id // CHUNK_SIZE


def document_entry(document: Document, case: Case, stored: StoredFile | None) -> dict[str, Any]:
    """One document as kiosks (and the open-data API) may see it."""
    public_title = title_is_public(document.secrecy)
    public_file = file_is_public(document.secrecy, document.personal_data, stored is not None)
    return {
        "id": document.id,
        "number": f"{case.number}-{document.serial}",
        "case_number": case.number,
        "case_title": clean_text(case.title),
        "board": case.board,
        "kind": document.kind,
        "title": clean_text(document.title) if public_title else "",
        "date": document.document_date.isoformat(),
        "counterpart": clean_text(document.counterpart) if public_title and document.counterpart else None,
        "secrecy": document.secrecy,
        "osl": document.osl_paragraph,
        "personal_data": document.personal_data,
        "file": (
            {
                "sha256": stored.sha256,
                "media_type": stored.media_type,
                "size": stored.size,
                "pages": document.page_count,
            }
            if public_file and stored is not None
            else None
        ),
        "text": clean_text(document.text, KIOSK_TEXT_CHARS) if public_file else "",
    }


def published_rows(session: Session, ids: Iterable[int] | None = None, *, lo: int | None = None, hi: int | None = None):  # type: ignore[no-untyped-def]
    """(document, case, file) of published documents, by id range or ids, in id order."""
    query = (
        select(Document, Case, StoredFile)
        .join(Case, Case.id == Document.case_id)
        .outerjoin(StoredFile, StoredFile.sha256 == Document.file_sha256)
        .where(Document.published_at.is_not(None))
        .order_by(Document.id)
    )
    if ids is not None:
        query = query.where(Document.id.in_(list(ids)))
    if lo is not None and hi is not None:
        query = query.where(Document.id >= lo, Document.id < hi)
    return session.execute(query).all()


def rebuild_chunk(session: Session, number: int) -> None:
    """Write chunk ``number`` anew from the published documents in its id range (none: the chunk goes)."""
    rows = published_rows(session, lo=number * CHUNK_SIZE, hi=(number + 1) * CHUNK_SIZE)
    session.execute(delete(CatalogueChunk).where(CatalogueChunk.number == number))
    if not rows:
        return
    body = codec.encode({"chunk": number, "documents": [document_entry(d, c, f) for d, c, f in rows]})
    sha256 = hashlib.sha256(body).hexdigest()
    session.execute(delete(CatalogueChunk).where(CatalogueChunk.sha256 == sha256))
    session.add(CatalogueChunk(sha256=sha256, number=number, body=body, created_at=utcnow()))
    session.flush()


def notice_entries(session: Session, today: dt.date) -> list[dict[str, Any]]:
    """Notices not yet taken down, for kiosks to show between their dates (also while offline)."""
    notices = session.scalars(select(Notice).where(Notice.takedown_on >= today).order_by(Notice.posted_on, Notice.id))
    return [
        {
            "id": n.id,
            "title": clean_text(n.title),
            "body": clean_text(n.body),
            "board": n.board,
            "document_id": n.document_id,
            "posted_on": n.posted_on.isoformat(),
            "takedown_on": n.takedown_on.isoformat(),
        }
        for n in notices
    ]


def manifest(session: Session, public_url: str, today: dt.date | None = None) -> dict[str, Any]:
    """The ``catalogue`` set's content: the chunks kiosks should hold, the notice board, the public address."""
    chunks = session.execute(select(CatalogueChunk.number, CatalogueChunk.sha256).order_by(CatalogueChunk.number))
    return {
        "format": CATALOGUE_FORMAT,
        "chunk_size": CHUNK_SIZE,
        "chunks": [{"number": number, "sha256": sha256} for number, sha256 in chunks],
        "notices": notice_entries(session, today or dt.date.today()),
        "public_url": public_url.rstrip("/"),
    }


def find_chunk(session: Session, sha256: str) -> bytes | None:
    """The bytes of a chunk by its hash, or None."""
    return session.scalar(select(CatalogueChunk.body).where(CatalogueChunk.sha256 == sha256))


def publish_catalogue(session: Session, public_url: str, *, actor: str) -> None:
    """Store a new version of the ``catalogue`` set if it changed (audited); the ingest announces it."""
    from hub.sets.content import encode_set
    from hub.sets.publication import publish

    publish(session, {"catalogue": encode_set("catalogue", manifest(session, public_url))}, actor=actor)
