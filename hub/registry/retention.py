"""Retention (gallring): which documents are due for weeding, and weeding them on a registrar's word.

Nothing is weeded by a timer: `due_documents` lists, `weed` removes only what a registrar confirmed, and only
if it is really due, leaving a `Weeding` record (what, under which rule, who, why) and an audit entry. A file
whose bytes no other document uses is deleted after the commit (`weed` returns their hashes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hub.audit import log as audit_log
from hub.db import utcnow
from hub.registry import catalogue, search
from hub.registry.models import Case, Document, DocumentRequest, Notice, StoredFile, Weeding
from hub.registry.rules import RegistryError, is_due, weeding_due


def due_documents(session: Session, today: dt.date) -> list[tuple[Document, Case, dt.date]]:
    """Documents whose retention period has ended, with their case and the date it ended."""
    rows = session.execute(
        select(Document, Case)
        .join(Case, Case.id == Document.case_id)
        .where(Document.retention_years.is_not(None))
        .order_by(Document.document_date)
    ).all()
    due = []
    for document, case in rows:
        if is_due(document.document_date, document.retention_years, today):
            ended = weeding_due(document.document_date, document.retention_years, today)
            assert ended is not None
            due.append((document, case, ended))
    return due


def weed(
    session: Session, document_ids: Iterable[int], *, reason: str, actor: str, public_url: str, today: dt.date
) -> list[str]:
    """Weed the given documents (each must be due); return the file hashes no document uses any more."""
    reason = " ".join(reason.split())
    if len(reason) < 5:
        raise RegistryError("reason", "say why the documents are weeded (the retention rule or decision)")
    orphans: list[str] = []
    for document_id in sorted(set(document_ids)):
        document = session.get(Document, document_id)
        if document is None:
            raise RegistryError("not_found", f"there is no document {document_id}")
        case = session.get(Case, document.case_id)
        assert case is not None
        if not is_due(document.document_date, document.retention_years, today):
            raise RegistryError("not_due", f"{case.number}-{document.serial} is not due for weeding")
        rule = f"gallras efter {document.retention_years} år"
        session.add(
            Weeding(
                document_id=document.id,
                case_number=case.number,
                document_serial=document.serial,
                kind=document.kind,
                document_date=document.document_date,
                file_sha256=document.file_sha256,
                rule=rule,
                reason=reason,
                weeded_by=actor,
                weeded_at=utcnow(),
            )
        )
        session.execute(
            update(DocumentRequest).where(DocumentRequest.document_id == document.id).values(document_id=None)
        )
        session.execute(update(Notice).where(Notice.document_id == document.id).values(document_id=None))
        search.remove(session, document.id)
        sha256 = document.file_sha256
        session.delete(document)
        session.flush()
        if sha256 and not session.scalar(
            select(func.count()).select_from(Document).where(Document.file_sha256 == sha256)
        ):
            stored = session.get(StoredFile, sha256)
            if stored is not None:
                session.delete(stored)
            orphans.append(sha256)
        catalogue.rebuild_chunk(session, catalogue.chunk_of(document_id))
        audit_log.record(
            session,
            actor=actor,
            action="registry.document_weeded",
            subject=f"{case.number}-{document.serial}",
            details={"rule": rule, "reason": reason[:500]},
        )
    catalogue.publish_catalogue(session, public_url, actor=actor)
    session.flush()
    return orphans


def weedings(session: Session, limit: int = 200) -> list[Weeding]:
    """The record of what was weeded, newest first."""
    return list(session.scalars(select(Weeding).order_by(Weeding.id.desc()).limit(limit)))
