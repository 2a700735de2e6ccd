"""The ingest with the real broker: stored once, acked after the commit, redelivered after a crash, shared by two
processes, and never stopped by bad input (SEC-11, SEC-17, SEC-19). Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import hub.db
from hub.db import make_engine, make_session_factory, unit_of_work
from hub.devices.models import DeadLetter, Device
from hub.ingest import worker
from protocol import messages
from tests.hub.test_hub_ingest_harness import (
    IngestProcess,
    InProcessIngest,
    Kiosk,
    batch,
    ingest_settings,
    kill_all,
    online,
    same_actions,
    stored_ids,
    wait_for,
)

pytestmark = pytest.mark.broker


@pytest.fixture(autouse=True)
def no_ingest_left_behind() -> Iterator[None]:
    """Whatever happens in a test, the ingest processes it started end with it."""
    yield
    kill_all()


@contextmanager
def database_away(url: str) -> Iterator[None]:
    """The database stops answering: SQLite is write-locked by another connection; PostgreSQL refuses
    connections and its open ones are terminated."""
    if url.startswith("sqlite:///"):
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    import psycopg

    from tests.hub.conftest import PG_ADMIN

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def dead_letter_categories(url: str) -> list[str]:
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine), write=False) as session:
        categories = list(session.scalars(select(DeadLetter.category).order_by(DeadLetter.id)))
    engine.dispose()
    return categories


def test_a_batch_through_the_broker_is_stored_once_and_a_resend_is_acked_again(
    hub_db_url: str, mosquitto: Any, mqtt_client: Any, tmp_path: Path
) -> None:
    """SEC-11: the kiosk's batch is stored and acked; the same actions again are absorbed and acked again."""
    kiosk = Kiosk(mqtt_client("ange"))
    sent = batch("ange", 10)
    with InProcessIngest(ingest_settings(hub_db_url, mosquitto, tmp_path)):
        kiosk.send(online("ange"))
        kiosk.send(sent)
        ack = kiosk.wait_ack(sent.msg_id)
        assert set(ack.acked) == {a.msg_id for a in sent.actions}
        resend = same_actions(sent)
        kiosk.send(resend)
        assert set(kiosk.wait_ack(resend.msg_id).acked) == set(ack.acked)
    assert sorted(stored_ids(hub_db_url)) == sorted(a.msg_id for a in sent.actions)
    assert dead_letter_categories(hub_db_url) == ["replay"]


def test_the_ack_comes_only_after_the_commit(
    hub_db_url: str, mosquitto: Any, mqtt_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SEC-11: while the database does not answer nothing is acked; when it is back, the batch is stored, then acked."""
    monkeypatch.setattr(hub.db, "SQLITE_BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(worker, "RETRY_MAX_SECONDS", 0.4)
    kiosk = Kiosk(mqtt_client("ange"))
    sent = batch("ange", 5)
    with InProcessIngest(ingest_settings(hub_db_url, mosquitto, tmp_path)):
        with database_away(hub_db_url):
            kiosk.send(sent)
            time.sleep(1.5)
            kiosk.collect()
            assert kiosk.acks == {}
        kiosk.wait_ack(sent.msg_id)
    assert sorted(stored_ids(hub_db_url)) == sorted(a.msg_id for a in sent.actions)


def test_a_batch_committed_but_never_acked_is_redelivered_to_the_next_session_and_absorbed(
    hub_db_url: str, mosquitto: Any, mqtt_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SEC-11: the ingest stops after the commit but before any ack (the crash window); the broker keeps the
    message in its session, redelivers it to the restarted ingest, which absorbs it and acks."""
    settings = ingest_settings(hub_db_url, mosquitto, tmp_path, ingest_client_id="hub-ingest-window")
    kiosk = Kiosk(mqtt_client("ange"))
    sent = batch("ange", 4)
    with monkeypatch.context() as crash:
        crash.setattr(worker, "publish_acks", lambda *_: None)
        crash.setattr(worker.PahoOutlet, "ack", lambda *_: None)
        with InProcessIngest(settings):
            kiosk.send(sent)
            wait_for(lambda: len(stored_ids(hub_db_url)) == 4, 10, "the batch to be committed")
    kiosk.collect()
    assert kiosk.acks == {}
    with InProcessIngest(settings):
        kiosk.wait_ack(sent.msg_id)
    assert sorted(stored_ids(hub_db_url)) == sorted(a.msg_id for a in sent.actions)
    assert dead_letter_categories(hub_db_url) == ["replay"]


def test_bad_messages_become_dead_letters_and_the_next_good_batch_is_still_acked(
    hub_db_url: str, mosquitto: Any, mqtt_client: Any, tmp_path: Path
) -> None:
    """SEC-19: malformed, oversize, wrongly versioned, spoofed and replayed messages are recorded with reasons."""
    kiosk = Kiosk(mqtt_client("ange"))
    replayed = batch("ange", 2)
    good = batch("ange", 3)
    with InProcessIngest(ingest_settings(hub_db_url, mosquitto, tmp_path)):
        kiosk.send(replayed)
        kiosk.wait_ack(replayed.msg_id)
        kiosk.send_raw("actions", b"not json at all")
        kiosk.send_raw("actions", b'{"x":"' + b"a" * (messages.MAX_PAYLOAD_SIZE + 10) + b'"}')
        kiosk.send_raw("actions", messages.to_payload(batch("ange", 1)).replace(b'"schema":1', b'"schema":9'))
        kiosk.send_raw("actions", messages.to_payload(batch("follinge", 1)))  # ange speaking as follinge
        kiosk.send(replayed)  # the very same message again
        kiosk.send(good)
        kiosk.wait_ack(good.msg_id)
    expected = ["malformed", "oversize", "schema", "spoofed", "replay"]
    assert sorted(dead_letter_categories(hub_db_url)) == sorted(expected)
    assert sorted(stored_ids(hub_db_url)) == sorted(a.msg_id for a in (*replayed.actions, *good.actions))
    assert stored_ids(hub_db_url, "follinge") == []


def resend_until_acked(kiosk: Kiosk, batches: list[messages.ActionBatch], timeout: float) -> None:
    """What the sync agent does: resend (new batch id, same actions) whatever is not acked after a while."""
    expected = {action.msg_id for sent in batches for action in sent.actions}
    deadline, last_resend = time.monotonic() + timeout, time.monotonic()
    while not expected <= kiosk.acked_ids():
        assert time.monotonic() < deadline, f"{len(expected - kiosk.acked_ids())} actions never acked"
        kiosk.collect(0.2)
        if time.monotonic() - last_resend > 4:
            for sent in batches:
                if not {a.msg_id for a in sent.actions} <= kiosk.acked_ids():
                    kiosk.send(same_actions(sent))
            last_resend = time.monotonic()


def publish_in_background(kiosk: Kiosk, batches: list[messages.ActionBatch]) -> threading.Thread:
    def publish() -> None:
        for sent in batches:
            kiosk.send(sent)
            time.sleep(0.005)

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow
def test_a_killed_ingest_restarts_and_every_action_is_stored_exactly_once(
    hub_db_url: str, mosquitto: Any, mqtt_client: Any, tmp_path: Path
) -> None:
    """SEC-11: kill -9 of the ingest mid-stream; after the restart (same client id, persistent session) the broker
    redelivers what was not acked, the kiosk resends what it has no ack for, and each action is stored once."""
    ingest = IngestProcess(hub_db_url, mosquitto, tmp_path / "ingest", "hub-ingest-crash").start()
    ingest.wait_subscribed()
    kiosk = Kiosk(mqtt_client("ange"))
    batches = [batch("ange", 20) for _ in range(60)]
    publisher = publish_in_background(kiosk, batches)
    wait_for(lambda: (kiosk.collect(0.05), len(kiosk.acks) >= 8)[1], 15, "the first acks")
    ingest.kill()
    publisher.join(timeout=30)
    assert len(kiosk.acks) < len(batches), "the kill came too late to be mid-stream"
    ingest.start().wait_subscribed()
    resend_until_acked(kiosk, batches, timeout=40)
    assert ingest.stop() == 0
    expected = sorted(action.msg_id for sent in batches for action in sent.actions)
    assert sorted(stored_ids(hub_db_url)) == expected


def handled_by(process: IngestProcess) -> int:
    """How many messages a stopped ingest process says it handled (its last log line)."""
    for line in reversed(process.log_text().splitlines()):
        entry = json.loads(line)
        if entry.get("event") == "ingest stopped":
            return int(entry["handled"])
    raise AssertionError(f"no 'ingest stopped' line in\n{process.log_text()}")


@pytest.mark.slow
def test_two_ingest_processes_share_the_stream_and_store_every_action_once(
    hub_db_url: str, mosquitto: Any, mqtt_client: Any, tmp_path: Path
) -> None:
    """SEC-11: the shared subscription hands each message to one of two processes; resends that land on the
    other one are absorbed there. Both did work, and each action is stored once."""
    first = IngestProcess(hub_db_url, mosquitto, tmp_path / "a", "hub-ingest-a").start()
    second = IngestProcess(hub_db_url, mosquitto, tmp_path / "b", "hub-ingest-b").start()
    first.wait_subscribed()
    second.wait_subscribed()
    kiosks = [Kiosk(mqtt_client("ange")), Kiosk(mqtt_client("follinge"), "follinge")]
    sent = {kiosk.device: [batch(kiosk.device, 10) for _ in range(30)] for kiosk in kiosks}
    publishers = [publish_in_background(kiosk, sent[kiosk.device]) for kiosk in kiosks]
    for kiosk in kiosks:  # some resends at once, racing their originals to the other process
        for original in sent[kiosk.device][:10]:
            kiosk.send(same_actions(original))
    for publisher in publishers:
        publisher.join(timeout=30)
    for kiosk in kiosks:
        resend_until_acked(kiosk, sent[kiosk.device], timeout=30)
    assert first.stop() == 0 and second.stop() == 0
    assert handled_by(first) > 0 and handled_by(second) > 0
    for device, batches in sent.items():
        assert sorted(stored_ids(hub_db_url, device)) == sorted(a.msg_id for b in batches for a in b.actions)
    engine = make_engine(hub_db_url)
    with unit_of_work(make_session_factory(engine), write=False) as session:
        counts = {d.device_id: (d.actions_received, d.duplicates_absorbed) for d in session.scalars(select(Device))}
    engine.dispose()
    assert counts["ange"][0] == 300 and counts["follinge"][0] == 300
    assert counts["ange"][1] >= 100 and counts["follinge"][1] >= 100
