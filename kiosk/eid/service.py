"""The card service: the one owner of the kiosk's card reader, and the state of the card in it.

A thread watches the reader (`kiosk.card.reader.ReaderPort`); each new card is opened, its certificate read and
validated (`kiosk.eid.signin.begin`), and the state moves to "enter PIN" or "refused". The PIN arrives from the
touch UI (`submit_pin`), and a signature that holds starts the visitor's session. Pulling the card at any step
drops everything the service knew of it (SEC-10): no partial action, no identity left in memory. Every change is
published to subscribers (the UI's server-sent events).

The service knows no web framework and no database: it takes its trust material, its clock floor and its audit
sink as callables (`kiosk.eid.store` gives the real ones). Whatever a card or a store does, the watcher thread
lives on (SEC-13): an unexpected failure refuses the card as unreadable, and `alive` says whether it runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from cryptography import x509

from kiosk.card import CardError, CardRemoved, InvalidPinFormat, WrongPin
from kiosk.card.piv import PivCard
from kiosk.card.reader import CardConnection, ReaderPort, ReaderStatus
from kiosk.eid import signin
from kiosk.eid.signin import PendingSignin, Visitor
from protocol.eid import HolderKind
from protocol.eid_validation import EidTrust, Reason, Refused, ValidationPolicy

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
    """Owns the reader; `start` it once per process (the kiosk UI's), `stop` it on shutdown.

    Two locks: ``_card_lock`` for the session and every exchange with the card (which may be slow: a card can
    take seconds per command), and ``_state_lock`` for the published state only, held for microseconds. Pages,
    request hooks and event streams read the state and never wait for a card.
    """

    def __init__(
        self,
        reader: Callable[[], ReaderPort],
        *,
        device_id: str,
        trust: Callable[[], EidTrust],
        clock_floor: Callable[[], dt.datetime | None],
        record: Callable[[CardEvent], None],
        policy: ValidationPolicy | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._make_reader = reader  # called by start(): constructing the service does no I/O
        self._reader: ReaderPort | None = None
        self._device_id = device_id
        self._trust, self._clock_floor = trust, clock_floor
        self._record, self._policy, self._now = record, policy or ValidationPolicy(), now
        self._state = CardState(Phase.NO_SERVICE)
        self._session: _Session | None = None
        self._card_lock = threading.RLock()
        self._state_lock = threading.Lock()
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

    @property
    def started(self) -> bool:
        """Whether `start` has been called."""
        return self._thread is not None

    @property
    def alive(self) -> bool:
        """Whether the watcher runs (``/healthz`` reports it: a kiosk whose card service stopped needs a restart)."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop watching, reset any card, release the reader."""
        self._stop.set()
        if self._reader is not None:
            self._reader.cancel()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._card_lock:
            self._drop_session()
        if self._reader is not None:
            self._reader.close()

    def _watch(self, reader: ReaderPort) -> None:
        while not self._stop.is_set():
            try:
                self._look(reader)
            except Exception as exc:  # the watcher must outlive anything: a dead watcher is a dead kiosk
                # Type only: an exception's text may carry card data (a certificate subject).
                log.error("card service: unexpected failure; carrying on", extra={"error": type(exc).__name__})
                with self._card_lock:
                    self._drop_session()
                self._set(CardState(Phase.WAITING))
                self._stop.wait(WATCH_SECONDS)

    def _look(self, reader: ReaderPort) -> None:
        snapshot = reader.wait(WATCH_SECONDS)
        if self._stop.is_set():
            return
        if snapshot.status is ReaderStatus.PRESENT:
            if snapshot.insertion != self.state().insertion and self._on_insert(reader, snapshot.insertion):
                self._stop.wait(VANISHED_PAUSE_SECONDS)
            return
        phase = {
            ReaderStatus.NO_SERVICE: Phase.NO_SERVICE,
            ReaderStatus.NO_READER: Phase.NO_READER,
            ReaderStatus.EMPTY: Phase.WAITING,
        }[snapshot.status]
        with self._card_lock:
            self._vanished = 0
            if self._session is not None and phase is not Phase.WAITING:
                # The reader (or pcscd) went away under a card in use: worth an audit record for IT.
                log.warning("card reader lost during a visit", extra={"phase": str(self.state().phase)})
                self._record(CardEvent("signin-refused", str(Reason.READER_GONE), None))
            elif self._session is not None:
                log.info("card removed", extra={"phase": str(self.state().phase)})
            self._drop_session()
        current = self.state()
        if current.phase is not phase or current.insertion:
            self._set(CardState(phase))

    def _on_insert(self, reader: ReaderPort, insertion: int) -> bool:
        """Open and read a new card; True when it stopped answering before it could be read."""
        with self._card_lock:
            self._drop_session()
            session = self._session = _Session(insertion)
            self._set(CardState(Phase.READING, insertion))
            try:
                session.connection = reader.connect()
                session.card = PivCard(session.connection.transmit)
                session.pending = self._begin(session.card)
            except CardRemoved:
                log.info("card removed while it was read")
                self._vanished += 1
                if self._vanished >= VANISHED_LIMIT:
                    self._vanished = 0
                    self._refuse(insertion, Refused(Reason.UNREADABLE, "the card keeps dropping out"), None)
                    return False
                self._card_vanished()
                return True
            except CardError as exc:
                # Opened but not usable: a protocol the reader cannot speak, a card another program holds, ...
                self._refuse(insertion, Refused(Reason.UNREADABLE, type(exc).__name__), None)
                return False
            except Refused as refusal:
                self._refuse(insertion, refusal, holder_kind=None)
                return False
            self._vanished = 0
            log.info("card read; waiting for the PIN", extra={"holder_kind": str(session.pending.holder.kind)})
            self._set(CardState(Phase.PIN, insertion, tries_left=session.pending.tries_left))
            return False

    def _begin(self, card: PivCard) -> PendingSignin:
        """Read and validate the card; any failure of the kiosk's own stores fails closed."""
        try:
            trust, floor = self._trust(), self._clock_floor()
        except Exception as exc:  # a database error must refuse the card, not kill the watcher
            raise Refused(Reason.NO_TRUST_LIST, f"the trust material cannot be read ({type(exc).__name__})") from None
        return signin.begin(card, trust, self._now(), clock_floor=floor, policy=self._policy)

    def _refuse(self, insertion: int, refusal: Refused, holder_kind: str | None) -> None:
        log.warning("card refused", extra={"reason": str(refusal.reason), "detail": refusal.detail})
        self._record(CardEvent("signin-refused", str(refusal.reason), holder_kind))
        if self._session is not None:
            self._session.pending = None
        self._set(CardState(Phase.REFUSED, insertion, reason=refusal.reason))

    # ---- what the UI calls ------------------------------------------------------------------------------
    def state(self) -> CardState:
        """The current state (never waits for the card)."""
        with self._state_lock:
            return self._state

    def visitor(self, insertion: int | None) -> Visitor | None:
        """The signed-in visitor if card ``insertion`` is still in and signed in; else None."""
        state = self.state()
        if insertion and state.phase is Phase.SIGNED_IN and state.insertion == insertion:
            return state.visitor
        return None

    def submit_pin(self, insertion: int, pin: str) -> PinOutcome:
        """Try ``pin`` on card ``insertion``; the PIN is passed to the card and not kept (SEC-03)."""
        with self._card_lock:
            session = self._session
            if (
                session is None
                or session.insertion != insertion
                or session.pending is None
                or session.card is None
                or self.state().phase is not Phase.PIN
            ):
                return PinOutcome.GONE
            pending = session.pending
            kind = str(pending.holder.kind)
            try:
                # Checked again now: the card may have waited at the PIN while its list or its validity changed.
                self._begin_again(pending)
                visitor = signin.complete(session.card, pending, pin, device_id=self._device_id, now=self._now())
            except WrongPin as wrong:
                self._set(replace(self.state(), tries_left=wrong.tries_left))
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
            except Exception as exc:  # an unexpected failure ends the attempt, never the kiosk
                log.error("PIN check failed unexpectedly", extra={"error": type(exc).__name__})
                self._refuse(insertion, Refused(Reason.UNREADABLE, type(exc).__name__), holder_kind=kind)
                return PinOutcome.REFUSED
            session.pending = None
            if visitor.kind is HolderKind.STAFF:
                self._record(CardEvent("staff-signed-in", None, kind, visitor.roles))
            self._set(CardState(Phase.SIGNED_IN, insertion, visitor=visitor))
            return PinOutcome.SIGNED_IN

    def _begin_again(self, pending: PendingSignin) -> None:
        try:
            trust, floor = self._trust(), self._clock_floor()
        except Exception as exc:  # see _begin
            raise Refused(Reason.NO_TRUST_LIST, f"the trust material cannot be read ({type(exc).__name__})") from None
        signin.recheck(pending, trust, self._now(), clock_floor=floor, policy=self._policy)

    def sign(self, insertion: int, data: bytes) -> bytes:
        """Have card ``insertion``, signed in and still in the reader, sign ``data`` (for a ballot's envelope).

        Raises `Refused` when no such card is signed in (pulled, swapped, the visit ended) or its signature does
        not hold; a card pulled mid-way ends the session as at any other step (SEC-10).
        """
        with self._card_lock:
            session, state = self._session, self.state()
            visitor = state.visitor
            if (
                session is None
                or session.card is None
                or visitor is None
                or state.phase is not Phase.SIGNED_IN
                or state.insertion != insertion
            ):
                raise Refused(Reason.READER_GONE, "no card is signed in for this visit")
            try:
                certificate = x509.load_der_x509_certificate(visitor.certificate_der)
                return signin.sign_statement(session.card, certificate, data)
            except CardRemoved:
                log.info("card removed while it signed")
                self._card_vanished()
                raise Refused(Reason.READER_GONE, "the card was removed while it signed") from None

    def end_visit(self, insertion: int) -> None:
        """The visit with card ``insertion`` is over (sign-out, idle reset): reset that card if it is still in
        the reader, and forget who used it. Another card, inserted since, is left alone."""
        with self._card_lock:
            state = self.state()
            if state.insertion != insertion:
                return
            if state.phase in (Phase.PIN, Phase.SIGNED_IN, Phase.REFUSED, Phase.READING):
                self._drop_session(keep_insertion=True)
                self._set(CardState(Phase.FINISHED, state.insertion))

    # ---- subscriptions ---------------------------------------------------------------------------------
    def subscribe(self) -> queue.Queue[CardState]:
        """A queue that receives every new state (the current one first)."""
        subscription: queue.Queue[CardState] = queue.Queue(SUBSCRIBER_QUEUE)
        with self._state_lock:
            subscription.put_nowait(self._state)
            self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: queue.Queue[CardState]) -> None:
        """Stop sending states to ``subscription``."""
        with self._state_lock:
            self._subscribers.discard(subscription)

    # ---- internals ---------------------------------------------------------------------------------------
    def _set(self, state: CardState) -> None:
        with self._state_lock:
            self._state = state
            for subscription in list(self._subscribers):
                _offer(subscription, state)

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


def _offer(subscription: queue.Queue[CardState], state: CardState) -> None:
    """Put ``state`` on a subscriber's queue; a stalled page loses its backlog, never the newest state."""
    while True:
        try:
            subscription.put_nowait(state)
            return
        except queue.Full:
            with contextlib.suppress(queue.Empty):  # the page may take the last one meanwhile
                subscription.get_nowait()
