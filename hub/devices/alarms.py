"""When a device needs IT's attention. Plain domain code: figures in, alarms out (no framework, no database).

A device is online when its last state says so and the hub heard from it within the offline limit; a device
that stopped talking without a last will (a cut cable keeps the TCP session open for a while) counts as
offline once that limit has passed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

CERT_WARNING = dt.timedelta(days=14)  # renew a device certificate in time: the kiosk cannot sync without one
CLOCK_OFFSET_LIMIT_MS = 5_000  # beyond this, card and list validity checks at the kiosk start to mislead


class Alarm(StrEnum):
    """Kinds of alarm; the web names each in the reader's language."""

    OFFLINE = "offline"
    OUTBOX_DEPTH = "outbox-depth"
    OUTBOX_AGE = "outbox-age"
    CERT_EXPIRING = "cert-expiring"
    CLOCK_OFFSET = "clock-offset"


@dataclass(frozen=True, slots=True)
class AlarmLimits:
    """Thresholds (from the hub's settings)."""

    offline_minutes: int = 10
    outbox_depth: int = 1000
    outbox_age_seconds: int = 3600


@dataclass(frozen=True, slots=True)
class DeviceFigures:
    """What the hub knows about one device, as plain values."""

    device_id: str
    state: str | None
    state_at: dt.datetime | None
    last_seen: dt.datetime
    outbox_depth: int | None = None
    outbox_oldest_age_s: int | None = None
    cert_expires_at: dt.datetime | None = None
    clock_offset_ms: int | None = None


def is_online(figures: DeviceFigures, now: dt.datetime, limits: AlarmLimits) -> bool:
    """Online: its last state is "online" and it was heard from within the offline limit."""
    recent = now - figures.last_seen <= dt.timedelta(minutes=limits.offline_minutes)
    return figures.state == "online" and recent


def offline_since(figures: DeviceFigures) -> dt.datetime:
    """Since when a device that is not online has been away: its "offline" state, else the last message."""
    if figures.state == "offline" and figures.state_at is not None:
        return figures.state_at
    return figures.last_seen


def alarms(figures: DeviceFigures, now: dt.datetime, limits: AlarmLimits) -> tuple[Alarm, ...]:
    """Every alarm the device raises now, in a fixed order."""
    raised: list[Alarm] = []
    limit = dt.timedelta(minutes=limits.offline_minutes)
    if not is_online(figures, now, limits) and now - offline_since(figures) > limit:
        raised.append(Alarm.OFFLINE)
    if figures.outbox_depth is not None and figures.outbox_depth > limits.outbox_depth:
        raised.append(Alarm.OUTBOX_DEPTH)
    if figures.outbox_oldest_age_s is not None and figures.outbox_oldest_age_s > limits.outbox_age_seconds:
        raised.append(Alarm.OUTBOX_AGE)
    if figures.cert_expires_at is not None and figures.cert_expires_at - now < CERT_WARNING:
        raised.append(Alarm.CERT_EXPIRING)
    if figures.clock_offset_ms is not None and abs(figures.clock_offset_ms) > CLOCK_OFFSET_LIMIT_MS:
        raised.append(Alarm.CLOCK_OFFSET)
    return tuple(raised)
