"""The sync agent's first duty: tell the hub this kiosk is alive (DeviceState online/offline, Heartbeat).

A small, honest start of the sync agent; the outbox drain and the replicated sets arrive with the sync issue.
paho callbacks only publish; the heartbeat's figures are read from the database on the main thread.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from types import FrameType

import paho.mqtt.client as paho
from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk import outbox
from kiosk.models import OutboxMessage
from kiosk.settings import KioskSettings
from kiosk.store import make_engine, make_session_factory
from protocol import mqtt, topics
from protocol.messages import DeviceState, Heartbeat, to_payload
from protocol.settings import ConfigError

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_SECONDS = 5.0  # for the final "offline" on a clean stop; never wait without a limit


def _tls_files(settings: KioskSettings) -> tuple[Path, Path, Path]:
    files = (settings.mqtt_ca_file, settings.mqtt_cert_file, settings.mqtt_key_file)
    if any(f is None for f in files):
        raise ConfigError(
            "the sync agent needs mqtt_ca_file, mqtt_cert_file and mqtt_key_file (the device certificate "
            "from `tinget provision`); set them in the [mqtt] table of the kiosk's settings file"
        )
    ca, cert, key = files
    assert ca is not None and cert is not None and key is not None
    return ca, cert, key


def state_payload(device_id: str, state: str) -> bytes:
    """The wire bytes of a `DeviceState` for ``device_id``."""
    return to_payload(DeviceState.create(sender=device_id, state=state))


def heartbeat(
    session: Session, settings: KioskSettings, started: float, cert_expires_at: int | None
) -> Heartbeat:
    """A `Heartbeat` with the outbox's depth and age, read in ``session``."""
    oldest = session.scalar(
        select(OutboxMessage.created_at)
        .where(OutboxMessage.delivered_at.is_(None))
        .order_by(OutboxMessage.id)
    )
    age = None if oldest is None else max(0, int((datetime.now(UTC) - oldest).total_seconds()))
    return Heartbeat.create(
        sender=settings.device_id,
        version=version("tinget"),
        uptime_s=int(time.monotonic() - started),
        outbox_depth=outbox.depth(session),
        outbox_oldest_age_s=age,
        last_ack_at=None,  # no acks before the sync issue
        cert_expires_at=cert_expires_at,
        reader_state="unknown",  # no card service yet
        clock_offset_ms=None,
    )


def run_presence(settings: KioskSettings, stop: threading.Event | None = None) -> None:
    """Connect to the broker, keep a retained "online" state (last will: "offline") and send a heartbeat
    every ``heartbeat_seconds`` until ``stop`` is set or SIGTERM/SIGINT arrives; then say "offline"."""
    ca, cert, key = _tls_files(settings)
    device = settings.device_id
    state_topic = topics.device_up(device, topics.STATE)
    cert_expires_at = int(
        x509.load_pem_x509_certificate(cert.read_bytes()).not_valid_after_utc.timestamp() * 1000
    )
    stop = stop or _stop_on_signals()
    client = mqtt.make_client(
        f"{device}-sync",
        ca_file=ca,
        cert_file=cert,
        key_file=key,
        host=settings.mqtt_host,
        port=settings.mqtt_port,
        will=mqtt.Will(state_topic, state_payload(device, "offline")),
    )

    def on_connect(c: paho.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        if getattr(reason, "is_failure", True):
            log.warning("broker refused the connection", extra={"reason": str(reason)})
            return
        c.publish(state_topic, state_payload(device, "online"), qos=1, retain=True)
        log.info("connected to the broker; announced online", extra={"device_id": device})

    client.on_connect = on_connect
    engine = make_engine(settings.database)
    sessions = make_session_factory(engine)
    started = time.monotonic()
    client.loop_start()
    try:
        while not stop.is_set():
            with sessions() as session:
                beat = heartbeat(session, settings, started, cert_expires_at)
            if client.is_connected():
                client.publish(topics.device_up(device, topics.HEARTBEAT), to_payload(beat), qos=0)
            stop.wait(settings.heartbeat_seconds)
    finally:
        if client.is_connected():
            info = client.publish(state_topic, state_payload(device, "offline"), qos=1, retain=True)
            if info.rc == paho.MQTT_ERR_SUCCESS:
                info.wait_for_publish(timeout=PUBLISH_TIMEOUT_SECONDS)
        client.disconnect()
        client.loop_stop()
        engine.dispose()
        log.info("sync agent stopped", extra={"device_id": device})


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def _handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    return stop
