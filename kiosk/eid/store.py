"""The card service's adapters to the kiosk's database: trust material, the clock floor and audit records.

- Trust: the last good copy of the replicated "trust" set (`kiosk.replica.current`), parsed once per version.
- Clock floor: the latest time the kiosk knows has passed — the issue time of the newest revocation list an
  issuer signed — kept in ``kiosk_meta``. Only times from outside count: a kiosk clock that once ran ahead must
  not lock cards out once it is corrected. A clock that reads earlier than the floor has been set back, and
  validation refuses (SEC-15).
- Audit: a refused card or a staff sign-in becomes a ``card-event`` action in the outbox, for the hub's audit
  log; it names a reason and a kind of holder, never a person (SEC-14).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import asdict
from pathlib import Path

from cryptography import x509
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from kiosk import outbox, replica
from kiosk.eid.service import CardEvent
from kiosk.eid.trust import trust_from_set
from kiosk.models import KioskMeta
from kiosk.store import make_session_factory
from protocol.eid_validation import EidTrust, signed_crl_times

log = logging.getLogger(__name__)

CARD_EVENT_KIND = "card-event"
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
CLOCK_FLOOR_KEY = "clock_floor"


class EidStore:
    """Reads and writes what the card service keeps in the kiosk's SQLite file."""

    def __init__(self, engine: Engine, *, device_ca_file: Path | None, outbox_capacity: int) -> None:
        self._engine = engine
        self._sessions = make_session_factory(engine)
        self._device_ca_file = device_ca_file
        self._capacity = outbox_capacity
        self._cache: tuple[str, EidTrust] | None = None
        self._lock = threading.Lock()

    def _device_ca(self) -> list[x509.Certificate]:
        if self._device_ca_file is None:
            return []
        try:
            return x509.load_pem_x509_certificates(self._device_ca_file.read_bytes())
        except (OSError, ValueError):
            log.warning("the device CA file cannot be read; the staff list cannot be checked")
            return []

    def trust(self) -> EidTrust:
        """The e-ID trust in the kiosk's copy of the trust set (empty when it has none)."""
        held = replica.current_sha256(self._engine, "trust")  # cheap: the body is decoded only when it changed
        with self._lock:
            if held is not None and self._cache is not None and self._cache[0] == held:
                return self._cache[1]
        current = replica.current(self._engine, "trust")
        if current is None:
            return EidTrust()
        now = dt.datetime.now(dt.UTC)
        trust = trust_from_set(current.content, self._device_ca(), now)
        with self._lock:
            self._cache = (current.sha256, trust)
        issued = signed_crl_times(trust)
        if issued:
            # An issuer's signed issue time is evidence of the time; one "from the future" is not believed.
            believable = [at for at in issued if at <= now + FUTURE_TOLERANCE]
            if believable:
                self.advance_clock_floor(max(believable))
        return trust

    def clock_floor(self) -> dt.datetime | None:
        """The latest moment the kiosk knows has passed, or None."""
        with self._sessions() as session:
            row = session.get(KioskMeta, CLOCK_FLOOR_KEY)
        if row is None:
            return None
        try:
            return dt.datetime.fromisoformat(row.value)
        except ValueError:
            return None

    def advance_clock_floor(self, at: dt.datetime) -> None:
        """Move the floor up to ``at`` (never down)."""
        floor = self.clock_floor()
        if floor is not None and floor >= at:
            return
        try:
            with self._sessions.begin() as session:
                session.merge(KioskMeta(key=CLOCK_FLOOR_KEY, value=at.astimezone(dt.UTC).isoformat()))
        except SQLAlchemyError as exc:
            log.error("cannot store the clock floor", extra={"error": type(exc).__name__})

    def record(self, event: CardEvent) -> None:
        """Queue ``event`` for the hub's audit log (a full outbox or a database error is logged, not raised)."""
        body = {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(event).items()}
        try:
            with self._sessions.begin() as session:
                outbox.enqueue(session, CARD_EVENT_KIND, body, capacity=self._capacity)
        except (outbox.OutboxFull, SQLAlchemyError) as exc:
            # A sign-in is not held up for want of room for its audit record; the log keeps the event.
            log.error("card event not queued for the hub", extra={"event": event.event, "error": type(exc).__name__})
