"""The outbox: written in the caller's transaction, or not at all (DESIGN.md decision 1)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select


@pytest.fixture
def sessions(tmp_path):
    from kiosk.store import make_engine, make_session_factory, upgrade

    engine = make_engine(tmp_path / "kiosk.db")
    upgrade(engine, "ange")
    yield make_session_factory(engine)
    engine.dispose()


def test_enqueue_writes_a_row_in_the_same_transaction_as_the_callers_other_write(sessions):
    """SEC-11: an action and its outbox row are stored together."""
    from kiosk import outbox
    from kiosk.models import KioskMeta, OutboxMessage

    with sessions.begin() as session:
        session.add(KioskMeta(key="last-checkin", value="staff-17"))
        row = outbox.enqueue(session, "checkin", {"staff": "staff-17", "office": "ange"})
    with sessions() as session:
        assert session.get(KioskMeta, "last-checkin").value == "staff-17"
        stored = session.get(OutboxMessage, row.id)
        assert stored.kind == "checkin"
        assert stored.body == b'{"office":"ange","staff":"staff-17"}'  # canonical: sorted keys, no spaces
        assert json.loads(stored.body) == {"staff": "staff-17", "office": "ange"}
        assert stored.delivered_at is None
        assert stored.attempts == 0
        assert stored.created_at.tzinfo is not None


def test_a_rolled_back_transaction_leaves_neither_the_action_nor_the_message(sessions):
    """SEC-10 / SEC-11: no partial action is stored."""
    from kiosk import outbox
    from kiosk.models import KioskMeta, OutboxMessage

    with pytest.raises(RuntimeError, match="card pulled"), sessions.begin() as session:
        session.add(KioskMeta(key="last-checkin", value="staff-17"))
        outbox.enqueue(session, "checkin", {"staff": "staff-17"})
        raise RuntimeError("card pulled")
    with sessions() as session:
        assert session.get(KioskMeta, "last-checkin") is None
        assert session.scalars(select(OutboxMessage)).all() == []


def test_pending_lists_undelivered_messages_oldest_first(sessions):
    from datetime import UTC, datetime

    from kiosk import outbox

    with sessions.begin() as session:
        ids = [outbox.enqueue(session, "note", {"n": n}).id for n in range(5)]
    with sessions.begin() as session:
        session.get(outbox.OutboxMessage, ids[1]).delivered_at = datetime.now(UTC)
    with sessions() as session:
        assert [m.id for m in outbox.pending(session)] == [ids[0], *ids[2:]]
        assert [m.id for m in outbox.pending(session, limit=2)] == [ids[0], ids[2]]
        assert outbox.depth(session) == 4
    assert ids == sorted(ids)  # time-ordered message ids


def test_a_body_that_cannot_be_encoded_canonically_is_refused_before_anything_is_stored(sessions):
    from kiosk import outbox
    from protocol.codec import EncodeError
    from protocol.topics import TopicError

    with sessions() as session:
        with pytest.raises(EncodeError):
            outbox.enqueue(session, "note", {"amount": 1.5})
        with pytest.raises(TopicError):
            outbox.enqueue(session, "Not a slug", {})
        with pytest.raises(TypeError):
            outbox.enqueue(session, "note", ["not", "an", "object"])  # type: ignore[arg-type]
        assert outbox.depth(session) == 0


def test_the_health_check_reports_the_outbox_depth(app, client):
    from kiosk import outbox
    from kiosk.web import runtime

    with app.app_context(), runtime().sessions.begin() as session:
        outbox.enqueue(session, "note", {"n": 1})
        outbox.enqueue(session, "note", {"n": 2})
    body = client.get("/healthz").get_json()
    assert body == {
        "status": "ok",
        "database": "ok",
        "outbox_depth": 2,
        "device_id": "ange",
        "version": body["version"],
    }
    assert body["version"]
