"""What the kiosk tells the hub about itself: its online/offline state and its periodic `Heartbeat`.

Building the messages only; the sync agent (`kiosk.sync.agent`) publishes them. The heartbeat's outbox
figures are read in the caller's session, on the agent's main thread.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from sqlalchemy.orm import Session

from kiosk import outbox
from protocol.messages import DeviceState, Heartbeat, to_payload

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AgentFigures:
    """What the sync agent knows that the database does not (``None`` while not known)."""

    uptime_s: int
    last_ack_at: int | None  # Unix ms
    cert_expires_at: int | None  # Unix ms
    clock_offset_ms: int | None  # kiosk clock minus hub clock


@dataclass(frozen=True, slots=True)
class OutboxFigures:
    """The outbox as the heartbeat reports it."""

    depth: int
    oldest_age_s: int | None
    full: bool


def state_payload(device_id: str, state: str) -> bytes:
    """The wire bytes of a `DeviceState` for ``device_id``."""
    return to_payload(DeviceState.create(sender=device_id, state=state))


def certificate_expiry_ms(cert_file: Path | None) -> int | None:
    """When the device certificate in ``cert_file`` expires (Unix ms), or ``None`` if it cannot be read."""
    if cert_file is None:
        return None
    try:
        # The standard library's certificate decoder (the one behind SSLSocket.getpeercert), not `cryptography`:
        # the sync agent runs for weeks on a Raspberry Pi, and that import alone would cost it some 10 MB.
        info = ssl._ssl._test_decode_cert(str(cert_file))  # type: ignore[attr-defined]
        return int(ssl.cert_time_to_seconds(info["notAfter"]) * 1000)
    except (OSError, ValueError, KeyError, ssl.SSLError, AttributeError) as exc:
        log.warning("cannot read the device certificate's expiry", extra={"error": type(exc).__name__})
        return None


def outbox_figures(session: Session, capacity: int, now: datetime | None = None) -> OutboxFigures:
    """Depth, age of the oldest waiting action and whether the outbox is at ``capacity``."""
    now = now or datetime.now(UTC)
    depth = outbox.depth(session)
    oldest = outbox.oldest_pending_at(session)
    age = None if oldest is None else max(0, int((now - oldest).total_seconds()))
    return OutboxFigures(depth=depth, oldest_age_s=age, full=depth >= capacity)


def heartbeat(device_id: str, box: OutboxFigures, agent: AgentFigures) -> Heartbeat:
    """A `Heartbeat` from ``device_id``; the card reader is "unknown" until the kiosk has a card service."""
    return Heartbeat.create(
        sender=device_id,
        version=version("tinget"),
        uptime_s=agent.uptime_s,
        outbox_depth=box.depth,
        outbox_oldest_age_s=box.oldest_age_s,
        last_ack_at=agent.last_ack_at,
        cert_expires_at=agent.cert_expires_at,
        reader_state="unknown",
        clock_offset_ms=agent.clock_offset_ms,
    )
