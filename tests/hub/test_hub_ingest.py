"""The ingest worker: heartbeats are recorded, bad messages become dead letters, nothing stops it (SEC-19)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.db import unit_of_work, utcnow
from hub.devices.models import DeadLetter, Device
from hub.ingest.records import handle
from hub.ingest.worker import Ingest, Received, run_worker
from hub.settings import load_hub_settings
from protocol import messages, topics
from tests.hub.helpers import fresh_sessions, write_secret

GOLDEN = Path(__file__).resolve().parents[1] / "contract" / "heartbeat-v1.json"


def heartbeat(sender: str = "ange") -> bytes:
    msg = messages.Heartbeat.create(
        sender=sender,
        version="0.1.0",
        uptime_s=60,
        outbox_depth=0,
        outbox_oldest_age_s=None,
        last_ack_at=None,
        cert_expires_at=None,
        reader_state="ready",
        clock_offset_ms=None,
    )
    return messages.to_payload(msg)


def counts(url: str) -> tuple[int, int]:
    engine, sessions = fresh_sessions(url)
    with unit_of_work(sessions, write=False) as session:
        result = (
            session.scalar(select(func.count()).select_from(Device)) or 0,
            session.scalar(select(func.count()).select_from(DeadLetter)) or 0,
        )
    engine.dispose()
    return result


def test_a_heartbeat_records_the_device_and_its_report(hub_db_url: str) -> None:
    """The golden heartbeat sample from tests/contract is stored as the device's last report."""
    engine, sessions = fresh_sessions(hub_db_url)
    payload = GOLDEN.read_bytes().strip()
    with unit_of_work(sessions) as session:
        assert handle(session, topics.device_up("ange", topics.HEARTBEAT), payload, utcnow()) == "heartbeat"
    with unit_of_work(sessions, write=False) as session:
        device = session.get(Device, "ange")
        assert device is not None and device.last_heartbeat == payload.decode()
    engine.dispose()


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("tinget/v1/kiosk/ange/up/heartbeat", b"\xff\xfe not json", "not valid UTF-8"),
        ("tinget/v1/kiosk/ange/up/heartbeat", b'{"kind":"heartbeat"}', "missing field schema"),
        ("tinget/v1/kiosk/follinge/up/heartbeat", None, "is not the topic's device"),
        ("tinget/v1/kiosk/ange/up/bogus", b"{}", "unknown up kind"),
        ("tinget/v1/kiosk/ange/up/heartbeat", b"[" * 100_000, "nesting is deeper"),
    ],
)
def test_a_message_that_cannot_be_read_becomes_a_dead_letter_with_the_reason(
    hub_db_url: str, topic: str, payload: bytes | None, reason: str
) -> None:
    """SEC-19: malformed, foreign or spoofed input is kept with a reason, and nothing is recorded for a device."""
    engine, sessions = fresh_sessions(hub_db_url)
    with unit_of_work(sessions) as session:
        assert handle(session, topic, payload if payload is not None else heartbeat("ange"), utcnow()) == "dead-letter"
    with unit_of_work(sessions, write=False) as session:
        letter = session.scalars(select(DeadLetter)).one()
        assert reason in letter.reason and letter.topic == topic
    engine.dispose()
    assert counts(hub_db_url) == (0, 1)


def test_the_ingest_keeps_going_through_a_stream_of_bad_messages(hub_db_url: str) -> None:
    """SEC-19: a hundred bad messages, then a good one: all handled, the good one recorded."""
    engine, _ = fresh_sessions(hub_db_url)
    ingest = Ingest(engine)
    topic = topics.device_up("ange", topics.HEARTBEAT)
    for i in range(100):
        ingest.inbox.put(Received(topic, b'{"bad":%d}' % i))
    ingest.inbox.put(Received(topic, heartbeat("ange")))
    worker = threading.Thread(target=ingest.drain)
    worker.start()
    deadline = time.monotonic() + 20
    while ingest.handled < 101 and time.monotonic() < deadline:
        time.sleep(0.05)
    ingest.stop.set()
    worker.join(timeout=5)
    engine.dispose()
    assert ingest.handled == 101
    assert counts(hub_db_url) == (1, 100)


@pytest.mark.broker
def test_the_ingest_process_records_a_heartbeat_sent_through_the_real_broker(
    tmp_path: Path, mosquitto: Any, mqtt_client: Any
) -> None:
    """A kiosk publishes a heartbeat over TLS; the ingest (shared subscription, hub certificate) records it."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    from hub.db import make_engine
    from hub.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    settings = load_hub_settings(
        None,
        database_url=url,
        data_dir=tmp_path,
        secret_key_file=write_secret(tmp_path / "secret_key"),
        mqtt_host=mosquitto.host,
        mqtt_port=mosquitto.port,
        mqtt_ca_file=mosquitto.ca_file,
        mqtt_cert_file=mosquitto.hub.cert_file,
        mqtt_key_file=mosquitto.hub.key_file,
    )
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(settings, engine), kwargs={"stop": stop})
    worker.start()
    try:
        kiosk = mqtt_client("ange")
        deadline = time.monotonic() + 15
        while 0 in counts(url) and time.monotonic() < deadline:
            # Publish until the ingest has subscribed (a message before that has no subscriber to go to).
            kiosk.publish(topics.device_up("ange", topics.HEARTBEAT), heartbeat("ange"), qos=1)
            kiosk.publish(topics.device_up("ange", topics.HEARTBEAT), b"garbage", qos=1)
            time.sleep(0.2)
        devices, dead_letters = counts(url)
        assert devices == 1 and dead_letters >= 1
    finally:
        stop.set()
        worker.join(timeout=10)
        engine.dispose()
    assert not worker.is_alive()
