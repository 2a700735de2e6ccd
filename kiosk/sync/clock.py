"""How far the kiosk's clock is from the hub's, estimated from acks. Plain Python, no I/O.

An `Ack` carries the hub's clock (``sent_at``) at a moment between the kiosk publishing the batch and
receiving the ack. Taking that moment as the midpoint of the round trip errs by at most half the round trip,
so of the recent samples the one with the shortest round trip is the best (as NTP does).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

SAMPLES = 16  # recent acks to choose from; a few minutes of traffic, so a stepped clock shows soon


@dataclass(frozen=True, slots=True)
class OffsetSample:
    """One ack's measurement, in Unix ms: ``offset`` is the kiosk clock minus the hub clock."""

    offset_ms: int
    round_trip_ms: int


@dataclass
class ClockOffset:
    """The kiosk clock minus the hub clock, from the best of the last `SAMPLES` acks."""

    _samples: deque[OffsetSample] = field(default_factory=lambda: deque(maxlen=SAMPLES))

    def add(self, sent_ms: int, hub_ms: int, received_ms: int) -> OffsetSample | None:
        """Add a measurement: the kiosk published at ``sent_ms``, the hub stamped ``hub_ms``, the ack arrived
        at ``received_ms`` (kiosk clock). A negative round trip (the kiosk clock stepped) is ignored."""
        round_trip = received_ms - sent_ms
        if round_trip < 0:
            return None
        sample = OffsetSample(offset_ms=(sent_ms + received_ms) // 2 - hub_ms, round_trip_ms=round_trip)
        self._samples.append(sample)
        return sample

    def estimate_ms(self) -> int | None:
        """The current estimate, or ``None`` before the first ack."""
        if not self._samples:
            return None
        return min(self._samples, key=lambda s: s.round_trip_ms).offset_ms
