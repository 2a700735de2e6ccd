"""The ingest's recording, without a broker: exactly once, group commits, dead letters (SEC-11, SEC-19).

`Ingest.deliver` runs here with a recording fake of its `Outlet` port; the broker tests are in
test_hub_ingest_broker.py.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.audit.models import AuditEntryRow
from hub.db import make_engine, unit_of_work, utcnow
from hub.devices.models import DeadLetter, Device
from hub.ingest import worker
from hub.ingest.handlers import ActionContext, ActionRefused, Handlers
from hub.ingest.reading import Incoming
from hub.ingest.received import count_received, find_received
from hub.ingest.records import record_group
from hub.ingest.worker import Ingest, Received
from protocol import messages, topics
from tests.hub.helpers import fresh_sessions
from tests.hub.test_hub_ingest_harness import batch, same_actions, stored_ids

GOLDEN = Path(__file__).resolve().parents[1] / "contract"


class RecordingOutlet:
    """A fake `Outlet`: keeps what would have been published and acked, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def send(self, topic: str, payload: bytes) -> bool:
        self.events.append(("publish", (topic, messages.from_payload(topics.parse_device_down(topic)[1], payload))))
        return True

    def send_confirmed(self, topic: str, payload: bytes, timeout: float) -> bool:
        return self.send(topic, payload)

    def ack(self, mid: int, qos: int) -> None:
        self.events.append(("ack", mid))

    def announce(self, topic: str, payload: bytes, timeout: float) -> bool:
        self.events.append(("announce", topic))
        return True

    def acks(self) -> list[messages.Ack]:
        return [event[1][1] for event in self.events if event[0] == "publish"]  # type: ignore[index]


def heartbeat(sender: str = "ange", **changes: object) -> messages.Heartbeat:
    fields: dict[str, object] = {
        "version": "0.1.0",
        "uptime_s": 60,
        "outbox_depth": 3,
        "outbox_oldest_age_s": 12,
        "last_ack_at": messages.now_ms(),
        "cert_expires_at": messages.now_ms() + 90 * 86_400_000,
        "reader_state": "ready",
        "clock_offset_ms": -40,
        **changes,
    }
    return messages.Heartbeat.create(sender=sender, **fields)


def up(msg: messages.Message, device: str | None = None) -> Incoming:
    return Incoming(topics.device_up(device or msg.sender, msg.KIND), messages.to_payload(msg))


def received(msg: messages.Message, mid: int, device: str | None = None) -> Received:
    item = up(msg, device)
    return Received(item.topic, item.payload, mid=mid, qos=1, generation=0)


def dead_letters(session: Session) -> list[DeadLetter]:
    return list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))


def test_a_batch_is_stored_once_and_its_ack_lists_every_action(hub_db_url: str) -> None:
    """SEC-11: each action becomes one row with the kiosk's fields; the ack names the batch and all its ids."""
    engine, sessions = fresh_sessions(hub_db_url)
    sent = batch("ange", 5)
    with unit_of_work(sessions) as session:
        outcome = record_group(session, [up(sent)], utcnow(), Handlers())
    assert outcome.new_actions == 5 and outcome.duplicates == 0
    [(device, ack)] = outcome.acks
    assert device == "ange" and ack.batch_id == sent.msg_id and ack.acked == tuple(a.msg_id for a in sent.actions)
    assert ack.sender == messages.HUB_SENDER
    with unit_of_work(sessions, write=False) as session:
        row = find_received(session, "ange", sent.actions[2].msg_id)
        assert row is not None and row.batch_id == sent.msg_id and row.body == '{"n":2}'
        assert row.kind == "test-action" and abs(row.created_at.timestamp() * 1000 - sent.actions[2].created_at) < 1
        assert row.status == "refused" and "unknown action kind 'test-action'" in (row.reason or "")
        device_row = session.get(Device, "ange")
        assert device_row is not None and device_row.actions_received == 5 and device_row.last_batch_at is not None
    engine.dispose()


def test_a_resent_batch_is_absorbed_acked_again_and_kept_as_a_replay(hub_db_url: str) -> None:
    """SEC-11, SEC-19: the same action ids again (new batch id) store nothing new, are acked, and are recorded."""
    engine, sessions = fresh_sessions(hub_db_url)
    first = batch("ange", 3)
    with unit_of_work(sessions) as session:
        record_group(session, [up(first)], utcnow(), Handlers())
    again = same_actions(first)
    with unit_of_work(sessions) as session:
        outcome = record_group(session, [up(again), up(first)], utcnow(), Handlers())
    assert outcome.new_actions == 0 and outcome.duplicates == 6
    assert [ack.batch_id for _device, ack in outcome.acks] == [again.msg_id, first.msg_id]
    assert all(set(ack.acked) == {a.msg_id for a in first.actions} for _device, ack in outcome.acks)
    with unit_of_work(sessions, write=False) as session:
        letters = dead_letters(session)
        assert [letter.category for letter in letters] == ["replay", "replay"]
        assert "all 3 actions were already recorded" in letters[0].reason
        device = session.get(Device, "ange")
        assert device is not None and device.duplicates_absorbed == 6
    engine.dispose()
    assert sorted(stored_ids(hub_db_url)) == sorted(a.msg_id for a in first.actions)


def test_a_batch_that_overlaps_an_earlier_one_stores_only_the_new_actions(hub_db_url: str) -> None:
    """Two batches in one group sharing an action: it is stored once, both are acked in full."""
    engine, sessions = fresh_sessions(hub_db_url)
    first = batch("ange", 2)
    extra = batch("ange", 1).actions
    second = messages.ActionBatch.create(sender="ange", actions=(first.actions[1], *extra))
    with unit_of_work(sessions) as session:
        outcome = record_group(session, [up(first), up(second)], utcnow(), Handlers())
    assert outcome.new_actions == 3 and outcome.duplicates == 1
    with unit_of_work(sessions, write=False) as session:
        assert count_received(session, "ange") == 3 and dead_letters(session) == []
    engine.dispose()


def test_side_effects_run_only_for_new_actions_and_a_refusal_is_kept_with_its_reason(hub_db_url: str) -> None:
    """A handler runs once per action, in the transaction; one that refuses leaves no side effect behind."""
    calls: list[str] = []

    def checkin(session: Session, action: ActionContext) -> None:
        from hub.audit import log as audit

        calls.append(action.msg_id)
        audit.record(session, actor=action.device_id, action="test.checkin", subject=action.msg_id)
        if action.body["n"] == 1:
            raise ActionRefused("not on the staff list")

    handlers = Handlers()
    handlers.register("checkin", checkin)
    engine, sessions = fresh_sessions(hub_db_url)
    sent = batch("ange", 3, kind="checkin")
    for _ in range(2):
        with unit_of_work(sessions) as session:
            record_group(session, [up(sent)], utcnow(), handlers)
    assert calls == [a.msg_id for a in sent.actions]
    with unit_of_work(sessions, write=False) as session:
        statuses = [find_received(session, "ange", a.msg_id) for a in sent.actions]
        assert [(row.status, row.reason) for row in statuses if row] == [
            ("accepted", None),
            ("refused", "not on the staff list"),
            ("accepted", None),
        ]
        audited = session.scalars(select(AuditEntryRow.subject).where(AuditEntryRow.action == "test.checkin"))
        assert sorted(audited) == sorted([sent.actions[0].msg_id, sent.actions[2].msg_id])
    engine.dispose()


def test_a_heartbeat_and_the_state_fill_in_the_device(hub_db_url: str) -> None:
    """The golden heartbeat is kept as the last report; its figures and the state land in columns."""
    engine, sessions = fresh_sessions(hub_db_url)
    golden = (GOLDEN / "heartbeat-v1.json").read_bytes().strip()
    sender = messages.from_payload(messages.Heartbeat, golden).sender
    report = heartbeat(sender, outbox_depth=42, clock_offset_ms=7000)
    offline = messages.DeviceState.create(sender=sender, state="offline")
    with unit_of_work(sessions) as session:
        record_group(session, [Incoming(topics.device_up(sender, "heartbeat"), golden)], utcnow(), Handlers())
    with unit_of_work(sessions, write=False) as session:
        device = session.get(Device, sender)
        assert device is not None and device.last_heartbeat == golden.decode() and device.state == "online"
    with unit_of_work(sessions) as session:
        record_group(session, [up(report), up(offline)], utcnow(), Handlers())
    with unit_of_work(sessions, write=False) as session:
        device = session.get(Device, sender)
        assert device is not None
        assert (device.outbox_depth, device.clock_offset_ms, device.version) == (42, 7000, "0.1.0")
        assert device.state == "offline" and device.cert_expires_at is not None
    engine.dispose()


def oversize() -> bytes:
    return b"{" + b" " * (messages.MAX_PAYLOAD_SIZE + 1) + b"}"


def other_schema() -> bytes:
    return messages.to_payload(batch("ange", 1)).replace(b'"schema":1', b'"schema":2')


@pytest.mark.parametrize(
    ("topic", "payload", "category", "reason"),
    [
        ("tinget/v1/kiosk/ange/up/actions", lambda: b"\xff\xfe not json", "malformed", "not valid UTF-8"),
        ("tinget/v1/kiosk/ange/up/actions", lambda: b'{"kind":"actions"}', "malformed", "missing field schema"),
        ("tinget/v1/kiosk/ange/up/actions", lambda: b"[" * 100_000, "malformed", "nesting is deeper"),
        ("tinget/v1/kiosk/ange/up/actions", oversize, "oversize", "the limit is 262144"),
        ("tinget/v1/kiosk/ange/up/actions", other_schema, "schema", "unsupported schema version 2"),
        (
            "tinget/v1/kiosk/follinge/up/actions",
            lambda: messages.to_payload(batch("ange", 1)),
            "spoofed",
            "sender 'ange' is not the topic's device 'follinge'",
        ),
        ("tinget/v1/kiosk/ange/up/bogus", lambda: b"{}", "topic", "unknown up kind"),
    ],
)
def test_a_message_that_cannot_be_accepted_becomes_a_dead_letter_with_its_reason(
    hub_db_url: str, topic: str, payload: object, category: str, reason: str
) -> None:
    """SEC-19 (and SEC-17 for A on B's topic): kept with category and reason; nothing stored, nothing acked."""
    engine, sessions = fresh_sessions(hub_db_url)
    data = payload()  # type: ignore[operator]
    with unit_of_work(sessions) as session:
        outcome = record_group(session, [Incoming(topic, data)], utcnow(), Handlers())
    assert outcome.acks == [] and outcome.dead_letters == 1
    with unit_of_work(sessions, write=False) as session:
        [letter] = dead_letters(session)
        assert letter.category == category and reason in letter.reason and letter.topic == topic
        assert letter.payload_size == len(data) and len(letter.payload) <= 64 * 1024
        assert count_received(session) == 0 and session.scalar(select(func.count()).select_from(Device)) == 0
    engine.dispose()


def test_the_loop_commits_then_publishes_the_acks_then_acks_the_mqtt_messages(hub_db_url: str) -> None:
    """One transaction for the group; app acks after it; MQTT acks last, and only on the same connection."""
    engine = make_engine(hub_db_url)
    outlet = RecordingOutlet()
    ingest = Ingest(engine, outlet=outlet)
    first, second = batch("ange", 2), batch("follinge", 1)
    items = [received(first, 1), received(heartbeat(), 2), received(second, 3)]
    items.append(Received(items[1].topic, items[1].payload, mid=4, qos=1, generation=ingest.generation - 1))
    assert ingest.deliver(items)
    assert [kind for kind, _ in outlet.events] == ["publish", "publish", "ack", "ack", "ack"]
    assert [ack.batch_id for ack in outlet.acks()] == [first.msg_id, second.msg_id]
    assert [mid for kind, mid in outlet.events if kind == "ack"] == [1, 2, 3]  # 4 came on an older connection
    assert ingest.groups == 1 and ingest.handled == 4
    engine.dispose()
    assert len(stored_ids(hub_db_url, "ange")) == 2 and len(stored_ids(hub_db_url, "follinge")) == 1


def test_a_group_that_meets_a_bug_is_recorded_message_by_message(
    hub_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SEC-19: a message that makes recording fail is kept as an "error" dead letter; the others go through."""
    engine = make_engine(hub_db_url)
    outlet = RecordingOutlet()
    ingest = Ingest(engine, outlet=outlet)
    good, evil = batch("ange", 1), batch("ange", 1)
    real = worker.record_group

    def fragile(session: Session, items: list[Incoming], now: object, handlers: Handlers) -> object:
        if any(item.payload == messages.to_payload(evil) for item in items):
            raise RuntimeError("a bug")
        return real(session, items, now, handlers)  # type: ignore[arg-type]

    monkeypatch.setattr(worker, "record_group", fragile)
    assert ingest.deliver([received(good, 1), received(evil, 2)])
    assert [ack.batch_id for ack in outlet.acks()] == [good.msg_id]
    assert [mid for kind, mid in outlet.events if kind == "ack"] == [1, 2]
    with unit_of_work(ingest.sessions, write=False) as session:
        [letter] = dead_letters(session)
        assert letter.category == "error" and "RuntimeError: a bug" in letter.reason
    engine.dispose()


def test_the_ingest_keeps_going_through_a_stream_of_bad_messages(hub_db_url: str) -> None:
    """SEC-19: a hundred bad messages, then a good batch: every one handled, the batch stored and acked."""
    engine = make_engine(hub_db_url)
    outlet = RecordingOutlet()
    ingest = Ingest(engine, outlet=outlet, batch_max=30)
    topic = topics.device_up("ange", topics.ACTIONS)
    for i in range(100):
        ingest.inbox.put(Received(topic, b'{"bad":%d}' % i, mid=i + 1, qos=1))
    good = batch("ange", 4)
    ingest.inbox.put(received(good, 101))
    loop = threading.Thread(target=ingest.drain)
    loop.start()
    deadline = time.monotonic() + 20
    while ingest.handled < 101 and time.monotonic() < deadline:
        time.sleep(0.02)
    ingest.stop.set()
    loop.join(timeout=5)
    engine.dispose()
    assert ingest.handled == 101 and ingest.groups >= 4  # at most 30 messages per transaction
    assert [ack.batch_id for ack in outlet.acks()] == [good.msg_id]
    assert len([1 for kind, _ in outlet.events if kind == "ack"]) == 101
    assert len(stored_ids(hub_db_url)) == 4


def test_the_ingest_client_id_defaults_to_the_host_and_each_process_may_set_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stable id keeps the broker session across restarts; a second process on the host sets another."""
    from hub.settings import ConfigError, load_hub_settings

    monkeypatch.setattr("socket.gethostname", lambda: "Stadshuset_01")
    assert load_hub_settings(None).ingest_mqtt_client_id() == "hub-ingest-stadshuset-01"
    monkeypatch.setenv("TINGET_INGEST_CLIENT_ID", "hub-ingest-2")
    assert load_hub_settings(None).ingest_mqtt_client_id() == "hub-ingest-2"
    with pytest.raises(ConfigError, match="ingest_client_id"):
        load_hub_settings(None, ingest_client_id="två ord")
    with pytest.raises(ConfigError, match="ingest_batch_max"):
        load_hub_settings(None, ingest_batch_max=0)
