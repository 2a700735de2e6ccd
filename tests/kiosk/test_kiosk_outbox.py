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
        "card_service": "not-started",
        "card_reader": "no-service",
    }
    assert body["version"]


def test_only_acked_ids_are_marked_delivered_and_a_repeated_ack_changes_nothing(sessions):
    from kiosk import outbox

    with sessions.begin() as session:
        ids = [outbox.enqueue(session, "note", {"n": n}).id for n in range(3)]
    with sessions.begin() as session:
        assert outbox.mark_delivered(session, [ids[0], ids[2], "019b78ff-f900-70a2-9f2e-3d4c5b6a8a99"]) == 2
    with sessions.begin() as session:
        assert outbox.mark_delivered(session, [ids[0]]) == 0
    with sessions() as session:
        assert outbox.pending_ids(session, 10) == [ids[1]]


def test_delivered_rows_are_kept_a_week_then_pruned_in_small_batches(sessions):
    from datetime import UTC, datetime, timedelta

    from kiosk import outbox

    now = datetime.now(UTC)
    with sessions.begin() as session:
        ids = [outbox.enqueue(session, "note", {"n": n}).id for n in range(5)]
    with sessions.begin() as session:
        outbox.mark_delivered(session, ids[:3], when=now - timedelta(days=8))
        outbox.mark_delivered(session, ids[3:4], when=now - timedelta(days=6))
    cutoff = now - outbox.KEEP_DELIVERED
    with sessions.begin() as session:
        assert outbox.prune_delivered(session, cutoff, limit=2) == 2
    with sessions.begin() as session:
        assert outbox.prune_delivered(session, cutoff, limit=2) == 1
        assert outbox.prune_delivered(session, cutoff, limit=2) == 0
    with sessions() as session:
        assert sorted(m.id for m in session.scalars(select(outbox.OutboxMessage))) == ids[3:]


def test_a_full_outbox_leaves_the_callers_transaction_usable_without_the_refused_row(sessions):
    from kiosk import outbox
    from kiosk.models import KioskMeta, OutboxMessage

    with sessions.begin() as session:
        kept = outbox.enqueue(session, "note", {"n": 1}, capacity=1).id
    with sessions.begin() as session:
        session.add(KioskMeta(key="last-try", value="x"))
        with pytest.raises(outbox.OutboxFull):
            outbox.enqueue(session, "note", {"n": 2}, capacity=1)
    with sessions() as session:
        assert [m.id for m in session.scalars(select(OutboxMessage))] == [kept]
        assert session.get(KioskMeta, "last-try").value == "x"


def test_an_oversize_body_is_refused(sessions):
    from kiosk import outbox

    with sessions() as session, pytest.raises(ValueError, match="at most"):
        outbox.enqueue(session, "note", {"text": "x" * outbox.MAX_BODY_BYTES})


def test_the_depth_counter_matches_a_real_count_through_enqueue_delivery_prune_and_rollback(sessions):
    from datetime import UTC, datetime, timedelta

    from kiosk import outbox

    def both() -> tuple[int, int]:
        with sessions() as session:
            return outbox.depth(session), outbox.count_pending(session)

    with sessions.begin() as session:
        ids = [outbox.enqueue(session, "note", {"n": n}).id for n in range(6)]
    assert both() == (6, 6)
    with pytest.raises(RuntimeError), sessions.begin() as session:
        outbox.enqueue(session, "note", {"n": 7})
        raise RuntimeError("power cut")
    assert both() == (6, 6)
    with sessions.begin() as session:
        outbox.mark_delivered(session, ids[:4], when=datetime.now(UTC) - timedelta(days=8))
    assert both() == (2, 2)
    with sessions.begin() as session:
        outbox.prune_delivered(session, datetime.now(UTC) - outbox.KEEP_DELIVERED)
        session.delete(session.get(outbox.OutboxMessage, ids[5]))  # an undelivered row removed by hand
    assert both() == (1, 1)
