"""Requests for documents (begäran om allmän handling): from the web or a kiosk, into the registrar's queue.

Anyone may ask without saying who they are; a contact is optional and is never logged. A request is due
"skyndsamt" (`hub.registry.rules.request_deadline`); every step of its handling is in the audit log. A kiosk's
request arrives as an action of kind ``document-request`` through the outbox and the ingest
(`handle_kiosk_request`, registered in `hub.ingest.handlers.default_handlers`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit import log as audit_log
from hub.db import utcnow
from hub.ingest.handlers import ActionContext, ActionRefused
from hub.registry.models import Document, DocumentRequest
from hub.registry.rules import OPEN_REQUEST_STATUSES, RegistryError, RequestStatus, request_deadline
from protocol.records import BODY_KEYS, DOCUMENT_REQUEST, MAX_CONTACT, MAX_DESCRIPTION, REFERENCE, new_reference
from protocol.search import clean_text

KIND = DOCUMENT_REQUEST


def create_request(
    session: Session,
    *,
    description: str,
    channel: str,
    document_id: int | None = None,
    case_number: str | None = None,
    contact: str | None = None,
    device_id: str | None = None,
    reference: str | None = None,
    received_at: dt.datetime | None = None,
) -> DocumentRequest:
    """Store a request in the queue (audited without its contact) and return it."""
    description = clean_text(description or "", MAX_DESCRIPTION)
    if document_id is not None:
        document = session.get(Document, document_id)
        if document is None or document.published_at is None:
            raise RegistryError("not_found", "there is no such document in the public registry")
    if not description and document_id is None:
        raise RegistryError("description", "say which document you would like to see")
    reference = reference or new_reference()
    if not REFERENCE.fullmatch(reference):
        raise RegistryError("reference", "a request reference looks like K7QM-4XTA")
    if session.scalar(select(DocumentRequest.id).where(DocumentRequest.reference == reference)) is not None:
        raise RegistryError("duplicate", f"request {reference} already exists")
    received = received_at or utcnow()
    request = DocumentRequest(
        reference=reference,
        document_id=document_id,
        case_number=(case_number or "")[:32] or None,
        description=description,
        contact=clean_text(contact or "", MAX_CONTACT) or None,
        channel=channel,
        device_id=device_id,
        received_at=received,
        due_at=request_deadline(received),
        status=RequestStatus.NEW.value,
    )
    session.add(request)
    session.flush()
    audit_log.record(
        session,
        actor=f"kiosk:{device_id}" if device_id else "public",
        action="registry.request_received",
        subject=reference,
        details={"channel": channel, "document_id": document_id, "with_contact": request.contact is not None},
    )
    return request


def handle_request(session: Session, request_id: int, status: str, note: str, *, actor: str) -> DocumentRequest:
    """Record a step in a request's handling (taken up, granted, partly granted, refused); audited."""
    request = session.get(DocumentRequest, request_id)
    if request is None:
        raise RegistryError("not_found", "there is no such request")
    try:
        new_status = RequestStatus(status)
    except ValueError:
        raise RegistryError("status", f"unknown status {status[:20]!r}") from None
    if new_status is RequestStatus.NEW:
        raise RegistryError("status", "a request cannot be made new again")
    request.status = new_status.value
    request.handled_by = actor
    request.handled_at = utcnow()
    request.decision_note = clean_text(note or "", MAX_DESCRIPTION) or None
    audit_log.record(
        session,
        actor=actor,
        action="registry.request_handled",
        subject=request.reference,
        details={"status": new_status.value},
    )
    return request


def open_requests(session: Session) -> list[DocumentRequest]:
    """Requests not yet answered, the most urgent first."""
    statuses = [s.value for s in OPEN_REQUEST_STATUSES]
    return list(
        session.scalars(
            select(DocumentRequest).where(DocumentRequest.status.in_(statuses)).order_by(DocumentRequest.due_at)
        )
    )


def recent_requests(session: Session, limit: int = 50) -> list[DocumentRequest]:
    """Answered requests, newest first."""
    statuses = [s.value for s in OPEN_REQUEST_STATUSES]
    return list(
        session.scalars(
            select(DocumentRequest)
            .where(DocumentRequest.status.not_in(statuses))
            .order_by(DocumentRequest.handled_at.desc())
            .limit(limit)
        )
    )


def handle_kiosk_request(session: Session, context: ActionContext) -> None:
    """Ingest handler for ``document-request`` actions from kiosks; refuses a malformed one with the reason."""
    body = context.body
    if not set(body) <= BODY_KEYS or not isinstance(body.get("reference"), str):
        raise ActionRefused(
            "a document request has reference, and optionally document_id, case_number, description and contact"
        )
    document_id = body.get("document_id")
    if document_id is not None and not isinstance(document_id, int):
        raise ActionRefused("document_id must be a whole number")
    for key in ("case_number", "description", "contact"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise ActionRefused(f"{key} must be text")
    try:
        create_request(
            session,
            description=body.get("description") or "",
            channel="kiosk",
            document_id=document_id,
            case_number=body.get("case_number"),
            contact=body.get("contact"),
            device_id=context.device_id,
            reference=body["reference"],
            received_at=dt.datetime.fromtimestamp(context.created_at_ms / 1000, dt.UTC),
        )
    except RegistryError as exc:
        raise ActionRefused(str(exc)) from None
