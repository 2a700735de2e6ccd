"""What the ingest does with one received message, in one unit of work. No MQTT here, only the database."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session

from hub.devices.models import DeadLetter, Device
from protocol import messages
from protocol.codec import DecodeError

log = logging.getLogger(__name__)

MAX_KEPT_PAYLOAD = 64 * 1024  # a dead letter keeps this much of a payload: enough to study, not a disk filler


def _touch(session: Session, device_id: str, now: dt.datetime) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        device = Device(device_id=device_id, last_seen=now, last_heartbeat=None)
        session.add(device)
    else:
        device.last_seen = now
    return device


def dead_letter(session: Session, topic: str, payload: bytes, reason: str, now: dt.datetime) -> None:
    """Keep a message we could not accept, with the reason (SEC-19)."""
    session.add(
        DeadLetter(
            received_at=now,
            topic=topic[:300],
            payload=payload[:MAX_KEPT_PAYLOAD],
            payload_size=len(payload),
            reason=reason[:2000],
        )
    )


def handle(session: Session, topic: str, payload: bytes, now: dt.datetime) -> str:
    """Record one message from a device's up topic; returns what was done ("heartbeat", "dead-letter", …)."""
    try:
        msg = messages.decode_up(topic, payload)
    except DecodeError as exc:
        dead_letter(session, topic, payload, str(exc), now)
        log.warning("message refused", extra={"topic": topic[:200], "reason": str(exc)[:300]})
        return "dead-letter"
    if isinstance(msg, messages.Heartbeat):
        device = _touch(session, msg.sender, now)
        device.last_heartbeat = messages.to_payload(msg).decode("utf-8")
        return "heartbeat"
    if isinstance(msg, messages.DeviceState):
        if msg.state == "online":
            _touch(session, msg.sender, now)
        log.info("device state", extra={"device": msg.sender, "state": msg.state})
        return "state"
    # Action batches: the exactly-once ingest with application acks comes with the next issue. Not acking
    # leaves them safe in the kiosk's outbox.
    _touch(session, msg.sender, now)
    log.info("message kind not processed yet", extra={"device": msg.sender, "kind": msg.KIND})
    return "deferred"
