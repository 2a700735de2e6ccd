"""The outbox: messages for the hub, written in the caller's transaction, kept until the hub acks them.

Service functions only; the caller owns the session and decides when to commit, so an action and the message
that reports it are stored together or not at all (DESIGN.md decision 1). Publishing is the sync agent's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.models import OutboxMessage
from protocol import codec, topics
from protocol.messages import new_message_id


def enqueue(
    session: Session, kind: str, body: Mapping[str, object], *, message_id: str | None = None
) -> OutboxMessage:
    """Add an action of ``kind`` (a slug) to the outbox in ``session``'s transaction (not committed here).

    ``body`` (a JSON object, the future `protocol.messages.Action.body`) is encoded canonically now, so an
    `protocol.codec.EncodeError` (a programming error) surfaces before anything is stored. ``message_id``
    defaults to a fresh time-ordered id.
    """
    topics.check_slug(kind, "action kind")
    if not isinstance(body, Mapping):
        raise TypeError(f"an outbox body is a JSON object, got {type(body).__name__}")
    row = OutboxMessage(
        id=message_id or new_message_id(),
        kind=kind,
        body=codec.encode(dict(body)),
        created_at=datetime.now(UTC),
        attempts=0,
    )
    session.add(row)
    session.flush()  # a duplicate id fails here, inside the caller's transaction, not at some later commit
    return row


def pending(session: Session, limit: int = 100) -> list[OutboxMessage]:
    """Undelivered messages, oldest first, at most ``limit``."""
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.delivered_at.is_(None))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def depth(session: Session) -> int:
    """How many messages still wait for the hub's ack."""
    stmt = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.delivered_at.is_(None))
    return int(session.scalar(stmt) or 0)
