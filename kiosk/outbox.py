"""The outbox: messages for the hub, written in the caller's transaction, kept until the hub acks them.

Service functions only; the caller owns the session and decides when to commit, so an action and the message
that reports it are stored together or not at all (DESIGN.md decision 1). Publishing is the sync agent's job
(`kiosk.sync`): it reads `pending_ids` and `load`, and calls `mark_delivered` only for ids named in the hub's
application ack. Delivered rows are kept a week, then `prune_delivered` removes them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from kiosk.models import OutboxDepth, OutboxMessage
from protocol import codec, topics
from protocol.messages import new_message_id

DEFAULT_CAPACITY = 100_000  # the default of KioskSettings.outbox_capacity; callers pass the setting
MAX_BODY_BYTES = 64 * 1024  # one action's body; a batch must still fit protocol.messages.MAX_PAYLOAD_SIZE
KEEP_DELIVERED = timedelta(days=7)
_SQLITE_MAX_VARIABLES = 500  # ids per IN (...) clause; SQLite's limit is 32766, small keeps statements cheap


class OutboxFull(Exception):
    """The outbox holds ``capacity`` undelivered actions: the kiosk must not confirm another one.

    Nothing is dropped: the action is refused before the resident is told it is done. The UI shows a banner
    (`kiosk.web.capacity`); the sync agent's heartbeat reports the depth to the hub.
    """

    def __init__(self, depth: int, capacity: int) -> None:
        self.depth = depth
        self.capacity = capacity
        super().__init__(
            f"the outbox is full ({depth} actions wait for the hub, capacity {capacity}): the kiosk cannot "
            "confirm new actions until the hub has acknowledged some"
        )


def enqueue(
    session: Session,
    kind: str,
    body: Mapping[str, object],
    *,
    message_id: str | None = None,
    capacity: int = DEFAULT_CAPACITY,
) -> OutboxMessage:
    """Add an action of ``kind`` (a slug) to the outbox in ``session``'s transaction (not committed here).

    ``body`` (a JSON object, the future `protocol.messages.Action.body`) is encoded canonically now, so an
    `protocol.codec.EncodeError` (a programming error) surfaces before anything is stored; a body over
    `MAX_BODY_BYTES` is a `ValueError`. ``message_id`` defaults to a fresh time-ordered id. Raises
    `OutboxFull` when ``capacity`` (pass ``settings.outbox_capacity``) actions already wait.
    """
    topics.check_slug(kind, "action kind")
    if not isinstance(body, Mapping):
        raise TypeError(f"an outbox body is a JSON object, got {type(body).__name__}")
    encoded = codec.encode(dict(body))
    if len(encoded) > MAX_BODY_BYTES:
        raise ValueError(f"an action body is at most {MAX_BODY_BYTES} bytes, got {len(encoded)}")
    row = OutboxMessage(
        id=message_id or new_message_id(),
        kind=kind,
        body=encoded,
        created_at=datetime.now(UTC),
        attempts=0,
    )
    # Write first, then count: a transaction that reads first and writes later fails at once (SQLITE_BUSY) if
    # the sync agent committed in between, instead of waiting for the lock. The savepoint takes the row back
    # out when the outbox is full, so the caller's transaction stays usable and never stores it by mistake.
    with session.begin_nested():
        session.add(row)
        session.flush()  # a duplicate id fails here, in the caller's transaction, not at some later commit
        waiting = depth(session) - 1
        if waiting >= capacity:
            raise OutboxFull(waiting, capacity)
    return row


def pending(session: Session, limit: int = 100) -> list[OutboxMessage]:
    """Undelivered messages, oldest first, at most ``limit``."""
    stmt = select(OutboxMessage).where(OutboxMessage.delivered_at.is_(None)).order_by(OutboxMessage.id).limit(limit)
    return list(session.scalars(stmt))


def pending_ids(session: Session, limit: int) -> list[str]:
    """Ids of undelivered messages, oldest first, at most ``limit`` (read from the pending index only)."""
    stmt = select(OutboxMessage.id).where(OutboxMessage.delivered_at.is_(None)).order_by(OutboxMessage.id).limit(limit)
    return list(session.scalars(stmt))


def load(session: Session, ids: Sequence[str]) -> list[OutboxMessage]:
    """The messages with these ids that are still undelivered, in id order."""
    rows: list[OutboxMessage] = []
    for chunk in _chunks(ids):
        stmt = select(OutboxMessage).where(OutboxMessage.id.in_(chunk), OutboxMessage.delivered_at.is_(None))
        rows.extend(session.scalars(stmt))
    return sorted(rows, key=lambda row: row.id)


def depth(session: Session) -> int:
    """How many messages still wait for the hub's ack (a counter kept by triggers: constant time)."""
    return int(session.scalar(select(OutboxDepth.pending).where(OutboxDepth.id == 1)) or 0)


def count_pending(session: Session) -> int:
    """`depth` counted row by row (for checks and tests; time grows with the backlog)."""
    stmt = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.delivered_at.is_(None))
    return int(session.scalar(stmt) or 0)


def is_full(session: Session, capacity: int) -> bool:
    """Whether ``capacity`` or more messages wait: new actions are refused until the hub acks some."""
    return depth(session) >= capacity


def oldest_pending_at(session: Session) -> datetime | None:
    """When the oldest undelivered message was stored, or ``None`` when none waits."""
    stmt = (
        select(OutboxMessage.created_at).where(OutboxMessage.delivered_at.is_(None)).order_by(OutboxMessage.id).limit(1)
    )
    return session.scalar(stmt)


def record_sends(session: Session, sends: Mapping[str, int]) -> None:
    """Record how often these messages have been published (for diagnosis; delivery never depends on it).

    The sync agent calls this for resent messages only: a first send costs no write, so a resident's next
    action never waits for the agent's bookkeeping.
    """
    by_count: dict[int, list[str]] = {}
    for message_id, count in sends.items():
        by_count.setdefault(count, []).append(message_id)
    for count, ids in by_count.items():
        for chunk in _chunks(ids):
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(chunk), OutboxMessage.delivered_at.is_(None))
                .values(attempts=func.max(OutboxMessage.attempts, count))
            )


def mark_delivered(session: Session, ids: Collection[str], when: datetime | None = None) -> int:
    """Mark the messages the hub acknowledged as delivered; return how many were still pending.

    Call this only with ids from a hub `protocol.messages.Ack` (never on a broker PUBACK). Ids that are
    unknown or already delivered (a repeated ack) are ignored.
    """
    when = when or datetime.now(UTC)
    changed = 0
    for chunk in _chunks(list(ids)):
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(chunk), OutboxMessage.delivered_at.is_(None))
            .values(delivered_at=when)
            .execution_options(synchronize_session=False)
        )
        changed += int(getattr(result, "rowcount", 0) or 0)
    return changed


def prune_delivered(session: Session, older_than: datetime, limit: int = 500) -> int:
    """Delete up to ``limit`` messages delivered before ``older_than``, oldest first; return how many."""
    doomed = (
        select(OutboxMessage.id)
        .where(OutboxMessage.delivered_at.is_not(None), OutboxMessage.delivered_at < older_than)
        .order_by(OutboxMessage.delivered_at)
        .limit(limit)
        .scalar_subquery()
    )
    # One statement, so the transaction starts with its write (see `enqueue`).
    result = session.execute(
        delete(OutboxMessage).where(OutboxMessage.id.in_(doomed)).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + _SQLITE_MAX_VARIABLES] for i in range(0, len(ids), _SQLITE_MAX_VARIABLES)]
