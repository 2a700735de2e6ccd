"""Applying the hub's ``catalogue`` set: fetch the chunks the kiosk lacks, swap each one in whole.

The manifest (`kiosk.replica.current(engine, "catalogue")`) names every chunk by number and SHA-256. A chunk
the kiosk holds with the same hash is left alone; a new or changed one is fetched, checked (hash, canonical
JSON, the fields below) and replaces that chunk's documents and their FTS5 rows in one transaction; a chunk
no longer named is removed. Search therefore always sees whole chunks, and an interrupted sync resumes where
it stopped. A chunk that fails is skipped and tried again later; the rest still apply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, select, text
from sqlalchemy.orm import Session

from kiosk import replica
from kiosk.records.models import ChunkRow, DocumentRow
from kiosk.records.transfer import HubLink, TransferError
from kiosk.settings import KioskSettings
from kiosk.store import make_session_factory
from protocol import codec
from protocol.search import index_terms, index_text

log = logging.getLogger(__name__)

MAX_CHUNK_BYTES = 64 * 1024 * 1024
CHUNK_PATH = "/device/v1/catalogue/"
KIND_WORDS = {  # as the hub indexes them (hub/registry/rules.py KIND_WORDS): "beslut" finds every decision
    "incoming": "inkommande handling",
    "outgoing": "utgående handling",
    "decision": "beslut",
    "minutes": "protokoll",
    "agenda": "kallelse dagordning",
    "notice": "kungörelse tillkännagivande",
    "memo": "tjänsteskrivelse",
}
_TEXT_FIELDS = ("number", "case_number", "case_title", "board", "kind", "title", "date", "secrecy", "text")


class ChunkRefused(ValueError):
    """A chunk's content is not a catalogue chunk."""


@dataclass
class SyncReport:
    """What one sync did."""

    applied: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)
    retry: bool = False


def _document(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), int):
        raise ChunkRefused("a document without an id")
    for name in _TEXT_FIELDS:
        if not isinstance(raw.get(name), str):
            raise ChunkRefused(f"document {raw['id']}: {name} is not text")
    file = raw.get("file")
    if file is not None and (not isinstance(file, dict) or not isinstance(file.get("sha256"), str)):
        raise ChunkRefused(f"document {raw['id']}: bad file")
    return raw


def read_chunk(body: bytes, number: int) -> list[dict[str, Any]]:
    """The documents of a chunk's canonical bytes; `ChunkRefused` if they are anything else."""
    try:
        document = codec.decode(body, max_size=MAX_CHUNK_BYTES)
    except codec.DecodeError as exc:
        raise ChunkRefused(f"chunk {number} is not canonical JSON: {exc}") from None
    if (
        not isinstance(document, dict)
        or document.get("chunk") != number
        or not isinstance(document.get("documents"), list)
    ):
        raise ChunkRefused(f"chunk {number} is not a catalogue chunk")
    return [_document(raw) for raw in document["documents"]]


def _remove_chunk(session: Session, number: int) -> None:
    # A write first: a transaction that reads and then writes fails at once (SQLITE_BUSY) if the UI or the
    # agent committed in between, instead of waiting for the lock (see kiosk/outbox.py).
    session.execute(
        text("DELETE FROM catalogue_search WHERE rowid IN (SELECT id FROM catalogue_documents WHERE chunk = :n)"),
        {"n": number},
    )
    session.execute(delete(DocumentRow).where(DocumentRow.chunk == number))
    session.execute(delete(ChunkRow).where(ChunkRow.number == number))


def store_chunk(session: Session, number: int, sha256: str, documents: list[dict[str, Any]]) -> None:
    """Replace chunk ``number`` by ``documents`` (in the caller's transaction)."""
    _remove_chunk(session, number)
    rows, search = [], []
    for d in documents:
        file = d.get("file")
        rows.append(
            {
                "id": d["id"],
                "chunk": number,
                "number": d["number"],
                "case_number": d["case_number"],
                "case_title": d["case_title"],
                "board": d["board"],
                "kind": d["kind"],
                "title": d["title"],
                "doc_date": d["date"],
                "counterpart": d.get("counterpart"),
                "secrecy": d["secrecy"],
                "osl": d.get("osl"),
                "file_sha256": file["sha256"] if file else None,
                "media_type": file.get("media_type") if file else None,
                "file_size": file.get("size") if file else None,
                "pages": file.get("pages") if file else None,
                "text": d["text"],
            }
        )
        meta = " ".join(
            [d["case_number"], d["case_title"], d["board"], KIND_WORDS.get(d["kind"], ""), d.get("counterpart") or ""]
        )
        search.append(
            {
                "id": d["id"],
                "title": index_text(d["title"]),
                "meta": index_text(meta),
                "body": index_text(d["text"]),
                "board": d["board"],
                "kind": d["kind"],
                "doc_date": d["date"],
            }
        )
    if rows:
        table = cast(Table, DocumentRow.__table__)  # a mapped class's __table__ is typed FromClause; this is a Table
        session.execute(table.insert(), rows)
        session.execute(
            text(
                "INSERT INTO catalogue_search (rowid, title, meta, body, board, kind, doc_date) "
                "VALUES (:id, :title, :meta, :body, :board, :kind, :doc_date)"
            ),
            search,
        )
        terms = index_terms(*(row[name] for row in search for name in ("title", "meta", "body")))
        if terms:  # never taken out when a chunk goes: a term no document holds costs a prefix an empty OR branch
            session.execute(
                text("INSERT OR IGNORE INTO catalogue_search_terms (term) VALUES (:term)"),
                [{"term": t} for t in terms],
            )
    session.add(ChunkRow(number=number, sha256=sha256, count=len(rows), applied_at=datetime.now(UTC)))


def wanted_chunks(engine: Engine) -> dict[int, str] | None:
    """The chunks the kiosk's current catalogue manifest names, or None before the first manifest."""
    manifest = replica.current(engine, "catalogue")
    if manifest is None or not isinstance(manifest.content.get("chunks"), list):
        return None
    return {int(c["number"]): str(c["sha256"]) for c in manifest.content["chunks"]}


def sync(engine: Engine, settings: KioskSettings, link: HubLink | None = None) -> SyncReport:
    """Bring the local catalogue to what the manifest names; fetch only the chunks that changed."""
    report = SyncReport()
    wanted = wanted_chunks(engine)
    if wanted is None:
        return report
    sessions = make_session_factory(engine)
    with sessions() as session:
        held = {number: sha for number, sha in session.execute(select(ChunkRow.number, ChunkRow.sha256))}
    for number in sorted(set(held) - set(wanted)):
        with sessions.begin() as session:
            _remove_chunk(session, number)
        report.removed += 1
    own_link = link is None
    link = link or HubLink(settings)
    try:
        for number, sha256 in sorted(wanted.items()):
            if held.get(number) == sha256:
                report.unchanged += 1
                continue
            try:
                body = link.fetch_bytes(CHUNK_PATH + sha256, sha256, MAX_CHUNK_BYTES)
                documents = read_chunk(body, number)
            except (TransferError, ChunkRefused) as exc:
                report.failed.append(f"chunk {number}: {exc}")
                report.retry = report.retry or getattr(exc, "retry", False) or isinstance(exc, TransferError)
                continue
            with sessions.begin() as session:
                store_chunk(session, number, sha256, documents)
            report.applied += 1
    finally:
        if own_link:
            link.close()
    if report.applied or report.removed or report.failed:
        log.info(
            "catalogue synced",
            extra={
                "applied": report.applied,
                "removed": report.removed,
                "unchanged": report.unchanged,
                "failed": len(report.failed),
            },
        )
    for failure in report.failed[:5]:
        log.warning("catalogue chunk not applied; kept the old one", extra={"reason": failure[:300]})
    return report
