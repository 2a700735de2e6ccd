"""The received actions: an insert that absorbs duplicates and says which rows are new, and queries.

SQLite (3.35+) and PostgreSQL both take ``INSERT … ON CONFLICT (device_id, msg_id) DO NOTHING RETURNING``:
the rows returned are exactly the new ones, whatever another transaction or an earlier batch stored.
Rows are inserted in key order so that two ingest processes inserting overlapping keys cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.devices.models import ReceivedAction

ACCEPTED = "accepted"
REFUSED = "refused"
UNCHECKED = "unchecked"
"""Kept and acked, but not checked: the hub could not (hub/ingest/handlers.py `ActionUnchecked`); rechecked later."""


def insert_new(session: Session, rows: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
    """Insert ``rows`` (dicts of `ReceivedAction` columns) unless their (device_id, msg_id) exists.

    Returns the keys that were new. A key repeated within ``rows`` is inserted once.
    """
    if not rows:
        return set()
    table = cast(Table, ReceivedAction.__table__)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["device_id", "msg_id"])
        .returning(table.c.device_id, table.c.msg_id)
    )
    ordered = sorted(rows, key=lambda row: (row["device_id"], row["msg_id"]))
    result = session.execute(statement, ordered)
    return {(row.device_id, row.msg_id) for row in result}


def mark_refused(session: Session, device_id: str, msg_id: str, reason: str, status: str = REFUSED) -> None:
    """Record that a handler refused (or could not check: `UNCHECKED`) a stored action, with the reason."""
    session.execute(
        update(ReceivedAction)
        .where(ReceivedAction.device_id == device_id, ReceivedAction.msg_id == msg_id)
        .values(status=status, reason=reason[:2000])
    )


def count_received(session: Session, device_id: str | None = None, *, status: str | None = None) -> int:
    """How many actions are stored (of one device, with one status)."""
    query = select(func.count()).select_from(ReceivedAction)
    if device_id is not None:
        query = query.where(ReceivedAction.device_id == device_id)
    if status is not None:
        query = query.where(ReceivedAction.status == status)
    return int(session.scalar(query) or 0)


def received_ids(session: Session, device_id: str) -> list[str]:
    """The message ids of one device's stored actions, in id (= creation time) order."""
    query = select(ReceivedAction.msg_id).where(ReceivedAction.device_id == device_id)
    return list(session.scalars(query.order_by(ReceivedAction.msg_id)))


def find_received(session: Session, device_id: str, msg_id: str) -> ReceivedAction | None:
    """One stored action, or None."""
    query = select(ReceivedAction).where(ReceivedAction.device_id == device_id, ReceivedAction.msg_id == msg_id)
    return session.scalars(query).first()
