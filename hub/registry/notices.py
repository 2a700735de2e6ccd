"""The notice board (anslagstavla): notices shown from their posting date until their take-down date.

Posting and taking down are audited and republish the kiosk catalogue, which carries the board; kiosks show
each notice between its dates by their own clock, so a kiosk that is offline still takes a notice down on time.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit import log as audit_log
from hub.db import utcnow
from hub.registry import catalogue
from hub.registry.models import Document, Notice
from hub.registry.rules import RegistryError, check_board, check_title
from protocol.search import clean_text

MAX_BODY = 5000


def post_notice(
    session: Session,
    *,
    title: str,
    body: str,
    posted_on: dt.date,
    takedown_on: dt.date,
    actor: str,
    public_url: str,
    board: str | None = None,
    document_id: int | None = None,
) -> Notice:
    """Put a notice on the board (audited) and republish the catalogue."""
    if takedown_on < posted_on:
        raise RegistryError("dates", "the take-down date comes after the posting date")
    if document_id is not None:
        document = session.get(Document, document_id)
        if document is None or document.published_at is None:
            raise RegistryError("not_found", "a notice can only point at a published document")
    notice = Notice(
        title=check_title(title)[:300],
        body=clean_text(body, MAX_BODY),
        board=check_board(board) if board else None,
        document_id=document_id,
        posted_on=posted_on,
        takedown_on=takedown_on,
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(notice)
    session.flush()
    audit_log.record(
        session,
        actor=actor,
        action="registry.notice_posted",
        subject=f"notice {notice.id}",
        details={"posted_on": posted_on.isoformat(), "takedown_on": takedown_on.isoformat()},
    )
    catalogue.publish_catalogue(session, public_url, actor=actor)
    return notice


def take_down(session: Session, notice_id: int, *, actor: str, public_url: str, today: dt.date) -> Notice:
    """Take a notice down now (its take-down date becomes yesterday); audited."""
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise RegistryError("not_found", "there is no such notice")
    notice.takedown_on = min(notice.takedown_on, today - dt.timedelta(days=1))
    audit_log.record(session, actor=actor, action="registry.notice_taken_down", subject=f"notice {notice.id}")
    catalogue.publish_catalogue(session, public_url, actor=actor)
    return notice


def current_notices(session: Session, today: dt.date) -> list[Notice]:
    """Notices on the board today, newest first."""
    return list(
        session.scalars(
            select(Notice)
            .where(Notice.posted_on <= today, Notice.takedown_on >= today)
            .order_by(Notice.posted_on.desc(), Notice.id.desc())
        )
    )


def all_notices(session: Session, limit: int = 100) -> list[Notice]:
    """Every notice, newest first (for the registrar)."""
    return list(session.scalars(select(Notice).order_by(Notice.id.desc()).limit(limit)))
