"""The card service: the one owner of the kiosk's card reader, and the state of the card in it.

A thread watches the reader (`kiosk.card.reader.ReaderPort`); each new card is opened, its certificate read and
validated (`kiosk.eid.signin.begin`), and the state moves to "enter PIN" or "refused". The PIN arrives from the
touch UI (`submit_pin`), and a signature that holds starts the visitor's session. Pulling the card at any step
drops everything the service knew of it (SEC-10): no partial action, no identity left in memory. Every change is
published to subscribers (the UI's server-sent events).

The service knows no web framework and no database: it takes its trust material, its clock floor and its audit
sink as callables (`kiosk.eid.store` gives the real ones).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from kiosk.card import CardRemoved, InvalidPinFormat, WrongPin
from kiosk.card.piv import PivCard
from kiosk.card.reader import CardConnection, ReaderPort, ReaderStatus
from kiosk.eid import signin
from kiosk.eid.refusal import Reason, Refused
from kiosk.eid.signin import PendingSignin, Visitor
from kiosk.eid.trust import EidTrust
from kiosk.eid.validation import ValidationPolicy
from protocol.eid import HolderKind

log = logging.getLogger(__name__)

WATCH_SECONDS = 1.0  # the longest the watcher blocks in one look at the reader (also how fast it notices stop)
VANISHED_PAUSE_SECONDS = 0.6  # after a card stopped answering, give pcscd (it polls) time to see it gone
VANISHED_LIMIT = 3  # a card that "vanishes" this often in a row while the reader says it is in is unreadable
SUBSCRIBER_QUEUE = 32  # states a slow subscriber may fall behind by before it only gets the newest


class Phase(enum.StrEnum):
    """Where the card (and the person at the kiosk) is in the sign-in flow."""

    NO_SERVICE = "no-service"  # pcscd is not running: the kiosk cannot read cards
    NO_READER = "no-reader"
    WAITING = "waiting"  # reader ready, no card
    READING = "reading"
    PIN = "pin"
    SIGNED_IN = "signed-in"
    REFUSED = "refused"
    FINISHED = "finished"  # the visit ended while the card is still in: "take your card"


@dataclass(frozen=True)
class CardState:
    """What the UI needs to know; ``insertion`` identifies the card (0: none)."""

    phase: Phase
    insertion: int = 0
    tries_left: int | None = None
    reason: Reason | None = None
    visitor: Visitor | None = field(default=None, repr=False)

    def public(self) -> dict[str, object]:
        """The state as the browser may see it: no identity, no name."""
        return {
            "state": str(self.phase),
            "card": self.insertion,
            "tries_left": self.tries_left,
            "reason": str(self.reason) if self.reason else None,
        }


class PinOutcome(enum.StrEnum):
    """What a submitted PIN led to."""

    SIGNED_IN = "signed-in"
    WRONG = "wrong"  # the state's tries_left says how many remain
    MALFORMED = "malformed"  # not 6-8 digits: not sent to the card, no try used
    REFUSED = "refused"
    GONE = "gone"  # no card (or another card) is waiting for a PIN


@dataclass(frozen=True)
class CardEvent:
    """An audit record of the card flow, without personal data: what happened, why, to what kind of holder."""

    event: str  # "signin-refused" or "staff-signed-in"
    reason: str | None
    holder_kind: str | None
    roles: tuple[str, ...] = ()


@dataclass
class _Session:
    insertion: int
    connection: CardConnection | None = None
    card: PivCard | None = None
    pending: PendingSignin | None = None


class CardService:
    """Owns the reader; `start` it once per process (the kiosk UI's), `stop` it on shutdown."""

    def __init__(
        self,
        reader: Callable[[], ReaderPort],
        *,
        device_id: str,
        trust: Callable[[], EidTrust],
        clock_floor: Callable[[], dt.datetime | None],
        advance_clock_floor: Callable[[dt.datetime], None],
        record: Callable[[CardEvent], None],
        policy: ValidationPolicy | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._make_reader = reader  # called by start(): constructing the service does no I/O
        self._reader: ReaderPort | None = None
        self._device_id = device_id
        self._trust, self._clock_floor, self._advance = trust, clock_floor, advance_clock_floor
        self._record, self._policy, self._now = record, policy or ValidationPolicy(), now
        self._state = CardState(Phase.NO_SERVICE)
        self._session: _Session | None = None
        self._lock = threading.RLock()  # guards _state, _session and every APDU exchange
        self._subscribers: set[queue.Queue[CardState]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._vanished = 0  # reads in a row that ended in CardRemoved while the reader still showed a card

    # ---- the watcher -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start watching the reader in a daemon thread."""
        if self._thread is None:
            reader = self._reader = self._make_reader()
            self._thread = threading.Thread(target=self._watch, args=(reader,), name="card-service", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop watching, reset any card, release the reader."""
        self._stop.set()
        if self._reader is not None:
            self._reader.cancel()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            self._drop_session()
        if self._reader is not None:
            self._reader.close()

    def _watch(self, reader: ReaderPort) -> None:
        while not self._stop.is_set():
            try:
                snapshot = reader.wait(WATCH_SECONDS)
            except Exception:  # the watcher must outlive any reader failure; the next look retries
                log.exception("card reader watch failed; retrying")
                self._stop.wait(WATCH_SECONDS)
                continue
            if self._stop.is_set():
                return
            if snapshot.status is ReaderStatus.PRESENT:
                if snapshot.insertion != self._state.insertion and self._on_insert(reader, snapshot.insertion):
                    self._stop.wait(VANISHED_PAUSE_SECONDS)
                continue
            phase = {
                ReaderStatus.NO_SERVICE: Phase.NO_SERVICE,
                ReaderStatus.NO_READER: Phase.NO_READER,
                ReaderStatus.EMPTY: Phase.WAITING,
            }[snapshot.status]
            with self._lock:
                self._vanished = 0
                if self._session is not None and phase is not Phase.WAITING:
                    # The reader (or pcscd) went away under a card in use: worth an audit record for IT.
                    log.warning("card reader lost during a visit", extra={"phase": str(self._state.phase)})
                    self._record(CardEvent("signin-refused", str(Reason.READER_GONE), None))
                elif self._session is not None:
                    log.info("card removed", extra={"phase": str(self._state.phase)})
                self._drop_session()
                if self._state.phase is not phase or self._state.insertion:
                    self._set(CardState(phase))

    def _on_insert(self, reader: ReaderPort, insertion: int) -> bool:
        """Open and read a new card; True when it stopped answering before it could be read."""
        with self._lock:
            self._drop_session()
            session = self._session = _Session(insertion)
            self._set(CardState(Phase.READING, insertion))
            try:
                session.connection = reader.connect()
                session.card = PivCard(session.connection.transmit)
                now = self._now()
                session.pending = signin.begin(
                    session.card, self._trust(), now, clock_floor=self._clock_floor(), policy=self._policy
                )
            except CardRemoved:
                log.info("card removed while it was read")
                self._vanished += 1
                if self._vanished >= VANISHED_LIMIT:
                    self._vanished = 0
                    self._refuse(insertion, Refused(Reason.UNREADABLE, "the card keeps dropping out"), None)
                    return False
                self._card_vanished()
                return True
            except Refused as refusal:
                self._refuse(insertion, refusal, holder_kind=None)
                return False
            self._vanished = 0
            log.info("card read; waiting for the PIN", extra={"holder_kind": str(session.pending.holder.kind)})
            self._set(CardState(Phase.PIN, insertion, tries_left=session.pending.tries_left))
            return False

    def _refuse(self, insertion: int, refusal: Refused, holder_kind: str | None) -> None:
        log.warning("card refused", extra={"reason": str(refusal.reason), "detail": refusal.detail})
        self._record(CardEvent("signin-refused", str(refusal.reason), holder_kind))
        if self._session is not None:
            self._session.pending = None
        self._set(CardState(Phase.REFUSED, insertion, reason=refusal.reason))

    # ---- what the UI calls ------------------------------------------------------------------------------
    def state(self) -> CardState:
        """The current state."""
        with self._lock:
            return self._state

    def visitor(self, insertion: int | None) -> Visitor | None:
        """The signed-in visitor if card ``insertion`` is still in and signed in; else None."""
        with self._lock:
            state = self._state
            if insertion and state.phase is Phase.SIGNED_IN and state.insertion == insertion:
                return state.visitor
            return None

    def submit_pin(self, insertion: int, pin: str) -> PinOutcome:
        """Try ``pin`` on card ``insertion``; the PIN is passed to the card and not kept (SEC-03)."""
        with self._lock:
            session = self._session
            if (
                session is None
                or session.insertion != insertion
                or session.pending is None
                or session.card is None
                or self._state.phase is not Phase.PIN
            ):
                return PinOutcome.GONE
            pending = session.pending
            kind = str(pending.holder.kind)
            try:
                visitor = signin.complete(session.card, pending, pin, device_id=self._device_id, now=self._now())
            except WrongPin as wrong:
                self._set(replace(self._state, tries_left=wrong.tries_left))
                return PinOutcome.WRONG
            except InvalidPinFormat:
                return PinOutcome.MALFORMED
            except CardRemoved:
                log.info("card removed while the PIN was checked")
                self._card_vanished()
                return PinOutcome.GONE
            except Refused as refusal:
                self._refuse(insertion, refusal, holder_kind=kind)
                return PinOutcome.REFUSED
            session.pending = None
            self._advance(visitor.signed_in_at)
            if visitor.kind is HolderKind.STAFF:
                self._record(CardEvent("staff-signed-in", None, kind, visitor.roles))
            self._set(CardState(Phase.SIGNED_IN, insertion, visitor=visitor))
            return PinOutcome.SIGNED_IN

    def end_visit(self, insertion: int) -> None:
        """The visit with card ``insertion`` is over (sign-out, idle reset): reset that card if it is still in
        the reader, and forget who used it. Another card, inserted since, is left alone."""
        with self._lock:
            state = self._state
            if state.insertion != insertion:
                return
            if state.phase in (Phase.PIN, Phase.SIGNED_IN, Phase.REFUSED, Phase.READING):
                self._drop_session(keep_insertion=True)
                self._set(CardState(Phase.FINISHED, state.insertion))

    # ---- subscriptions ---------------------------------------------------------------------------------
    def subscribe(self) -> queue.Queue[CardState]:
        """A queue that receives every new state (the current one first)."""
        subscription: queue.Queue[CardState] = queue.Queue(SUBSCRIBER_QUEUE)
        with self._lock:
            subscription.put_nowait(self._state)
            self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: queue.Queue[CardState]) -> None:
        """Stop sending states to ``subscription``."""
        with self._lock:
            self._subscribers.discard(subscription)

    # ---- internals ---------------------------------------------------------------------------------------
    def _set(self, state: CardState) -> None:
        self._state = state
        for subscription in list(self._subscribers):
            try:
                subscription.put_nowait(state)
            except queue.Full:  # a stalled page: drop its backlog, keep the newest state
                while not subscription.empty():
                    subscription.get_nowait()
                subscription.put_nowait(state)

    def _card_vanished(self) -> None:
        """The session's card stopped answering: end the session; a card in the reader now is a new one."""
        self._drop_session()
        self._set(CardState(Phase.WAITING))
        if self._reader is not None:
            self._reader.rescan()

    def _drop_session(self, *, keep_insertion: bool = False) -> None:
        session, self._session = self._session, None
        if session is not None and session.connection is not None:
            session.connection.close()  # resets the card: a verified PIN is forgotten
        if session is not None and keep_insertion:
            # The card is still in: remember it, so the watcher does not take it for a new insertion.
            self._session = _Session(session.insertion)
