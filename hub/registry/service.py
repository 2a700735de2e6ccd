"""Registering, editing and publishing cases and documents: service functions on the caller's session.

Every change is audited in the same transaction (`hub.audit.log`), keeps the search index and the kiosk
catalogue in step, and stores a new ``catalogue`` set version when what kiosks see changed; the ingest
process announces it. Nothing is committed here: `hub.db.unit_of_work` commits all of it or none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.audit import log as audit_log
from hub.db import utcnow
from hub.registry import catalogue, search
from hub.registry.models import Case, CaseSeries, Document, StoredFile
from hub.registry.rules import (
    CaseNumber,
    RegistryError,
    check_board,
    check_kind,
    check_retention,
    check_secrecy,
    check_title,
    parse_case_number,
)
from hub.registry.store import Extracted


@dataclass(frozen=True, slots=True)
class DocumentFields:
    """What a registrar enters for a document."""

    kind: str
    title: str
    document_date: dt.date
    counterpart: str | None = None
    secrecy: str = "public"
    osl_paragraph: str | None = None
    personal_data: bool = False
    retention_years: int | None = None


def _next_serial(session: Session, board: str, year: int, at_least: int = 0) -> int:
    """Take the next serial of the board's series for ``year`` (or record ``at_least`` as taken)."""
    table = cast(Table, CaseSeries.__table__)  # a mapped class's __table__ is typed FromClause; this one is a Table
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(table).on_conflict_do_nothing(index_elements=["board", "year"]),
        {"board": board, "year": year, "last_serial": 0},
    )
    series = session.scalars(
        select(CaseSeries).where(CaseSeries.board == board, CaseSeries.year == year).with_for_update()
    ).one()
    serial = at_least if at_least else series.last_serial + 1
    series.last_serial = max(series.last_serial, serial)
    return serial


def register_case(
    session: Session,
    *,
    board: str,
    title: str,
    opened_on: dt.date,
    actor: str,
    number: str | None = None,
) -> Case:
    """A new case with the next number of its board's series (or ``number``, as given by an import)."""
    board = check_board(board)
    title = check_title(title)
    if number is not None:
        wanted = parse_case_number(number)
        if session.scalar(select(Case.id).where(Case.number == str(wanted))) is not None:
            raise RegistryError("duplicate", f"case number {wanted} is already registered")
        board = wanted.board
        _next_serial(session, board, wanted.year, at_least=wanted.serial)
        case_number = wanted
    else:
        case_number = CaseNumber(board, opened_on.year, _next_serial(session, board, opened_on.year))
    now = utcnow()
    case = Case(
        number=str(case_number),
        board=board,
        year=case_number.year,
        serial=case_number.serial,
        title=title,
        status="open",
        opened_on=opened_on,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    audit_log.record(session, actor=actor, action="registry.case_registered", subject=case.number, now=now)
    return case


def get_case(session: Session, case_id: int) -> Case:
    """The case, or `RegistryError` ``not_found``."""
    case = session.get(Case, case_id)
    if case is None:
        raise RegistryError("not_found", "there is no such case")
    return case


def get_document(session: Session, document_id: int) -> tuple[Document, Case]:
    """The document and its case, or `RegistryError` ``not_found``."""
    document = session.get(Document, document_id)
    if document is None:
        raise RegistryError("not_found", "there is no such document")
    return document, get_case(session, document.case_id)


def _store_file(session: Session, upload: Extracted) -> None:
    if session.get(StoredFile, upload.sha256) is None:
        stored = StoredFile(sha256=upload.sha256, size=upload.size, media_type=upload.media_type, stored_at=utcnow())
        session.add(stored)
        session.flush()  # before the document that refers to it (no ORM relationship orders the two)


def _checked(fields: DocumentFields) -> DocumentFields:
    secrecy, paragraph = check_secrecy(fields.secrecy, fields.osl_paragraph)
    return DocumentFields(
        kind=check_kind(fields.kind).value,
        title=check_title(fields.title),
        document_date=fields.document_date,
        counterpart=" ".join((fields.counterpart or "").split())[:300] or None,
        secrecy=secrecy.value,
        osl_paragraph=paragraph,
        personal_data=bool(fields.personal_data),
        retention_years=check_retention(fields.retention_years),
    )


def add_document(
    session: Session,
    case: Case,
    fields: DocumentFields,
    *,
    actor: str,
    upload: Extracted | None = None,
    file_name: str | None = None,
) -> Document:
    """Register a document in ``case`` (not yet published), with its file if one was uploaded."""
    fields = _checked(fields)
    serial = (session.scalar(select(func.max(Document.serial)).where(Document.case_id == case.id)) or 0) + 1
    now = utcnow()
    if upload is not None:
        _store_file(session, upload)
    document = Document(
        case_id=case.id,
        serial=serial,
        kind=fields.kind,
        title=fields.title,
        document_date=fields.document_date,
        registered_at=now,
        counterpart=fields.counterpart,
        file_sha256=upload.sha256 if upload else None,
        file_name=(file_name or "")[-255:] or None if upload else None,
        page_count=upload.page_count if upload else None,
        text=upload.text if upload else "",
        secrecy=fields.secrecy,
        osl_paragraph=fields.osl_paragraph,
        personal_data=fields.personal_data,
        retention_years=fields.retention_years,
        updated_at=now,
    )
    session.add(document)
    case.updated_at = now
    session.flush()
    audit_log.record(
        session,
        actor=actor,
        action="registry.document_registered",
        subject=f"{case.number}-{serial}",
        details={"kind": fields.kind, "secrecy": fields.secrecy, "file_sha256": document.file_sha256},
        now=now,
    )
    return document


def _refresh_public(
    session: Session, document: Document, case: Case, public_url: str, actor: str, *, catalogue_too: bool = True
) -> None:
    if document.published_at is not None:
        search.index(session, document, case)
    else:
        search.remove(session, document.id)
    if catalogue_too:  # an import rebuilds each touched chunk once, after its batch
        catalogue.rebuild_chunk(session, catalogue.chunk_of(document.id))
        catalogue.publish_catalogue(session, public_url, actor=actor)


def update_document(
    session: Session,
    document_id: int,
    fields: DocumentFields,
    *,
    actor: str,
    public_url: str,
    upload: Extracted | None = None,
    file_name: str | None = None,
) -> Document:
    """Change a document's registration (audited with the names of the fields that changed)."""
    document, case = get_document(session, document_id)
    fields = _checked(fields)
    changed = [name for name in DocumentFields.__slots__ if getattr(document, name) != getattr(fields, name)]
    for name in changed:
        setattr(document, name, getattr(fields, name))
    if upload is not None and upload.sha256 != document.file_sha256:
        _store_file(session, upload)
        document.file_sha256, document.text, document.page_count = upload.sha256, upload.text, upload.page_count
        document.file_name = (file_name or "")[-255:] or None
        changed.append("file")
    if not changed:
        return document
    document.updated_at = utcnow()
    session.flush()
    audit_log.record(
        session,
        actor=actor,
        action="registry.document_changed",
        subject=f"{case.number}-{document.serial}",
        details={"fields": sorted(changed), "secrecy": document.secrecy},
    )
    _refresh_public(session, document, case, public_url, actor)
    return document


def set_published(
    session: Session, document_id: int, published: bool, *, actor: str, public_url: str, catalogue_too: bool = True
) -> Document:
    """Publish (to the web, the API and every kiosk) or un-publish a document; audited.

    ``catalogue_too=False`` leaves the kiosk catalogue to the caller (`hub.registry.importer` batches it)."""
    document, case = get_document(session, document_id)
    if (document.published_at is not None) == published:
        return document
    document.published_at = utcnow() if published else None
    session.flush()
    audit_log.record(
        session,
        actor=actor,
        action="registry.document_published" if published else "registry.document_unpublished",
        subject=f"{case.number}-{document.serial}",
        details={"secrecy": document.secrecy},
    )
    _refresh_public(session, document, case, public_url, actor, catalogue_too=catalogue_too)
    return document


def find_case_by_number(session: Session, number: str) -> Case | None:
    """The case with this number, or None."""
    return session.scalar(select(Case).where(Case.number == number))


def set_case_status(session: Session, case_id: int, status: str, *, actor: str) -> Case:
    """Open or close a case (closing dates it); audited."""
    if status not in ("open", "closed"):
        raise RegistryError("status", "a case is open or closed")
    case = get_case(session, case_id)
    if case.status != status:
        case.status = status
        case.closed_on = dt.date.today() if status == "closed" else None
        case.updated_at = utcnow()
        audit_log.record(session, actor=actor, action=f"registry.case_{status}", subject=case.number)
    return case


def list_cases(session: Session, *, text: str = "", limit: int = 50) -> list[Case]:
    """Cases, newest first, whose number or title contains ``text``."""
    query = select(Case).order_by(Case.id.desc()).limit(limit)
    if text.strip():
        pattern = f"%{text.strip().lower()}%"
        query = query.where(func.lower(Case.number).like(pattern) | func.lower(Case.title).like(pattern))
    return list(session.scalars(query))


def case_documents(session: Session, case_id: int) -> list[Document]:
    """The case's documents in registration order."""
    return list(session.scalars(select(Document).where(Document.case_id == case_id).order_by(Document.serial)))
