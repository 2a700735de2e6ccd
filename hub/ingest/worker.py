"""The ingest process: one paho client (via `protocol.mqtt`), a queue, and a loop that writes to the database.

paho's callbacks only put messages on a queue. The main thread takes up to ``ingest_batch_max`` of them (waiting
at most ``ingest_batch_wait_ms`` for more after the first) and records them in ONE transaction (group commit);
after the commit it publishes each batch's `Ack`, and only then acknowledges the MQTT messages (manual ack).
If the database does not answer, the transaction is rolled back, nothing is acked, and the same messages are
tried again with back-off; if this process dies first, the broker redelivers them to its next session (stable
client id, ``clean_start`` false, a session expiry). Several ingest processes share the work through an MQTT v5
shared subscription; each needs its own ``ingest_client_id``.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from hub.db import DatabaseUnavailable, make_session_factory, unit_of_work, utcnow
from hub.ingest.handlers import Handlers, default_handlers
from hub.ingest.outgoing import Outlet, PahoOutlet, announce_sets, publish_acks, publish_commands
from hub.ingest.reading import ERROR, Incoming
from hub.ingest.records import GroupOutcome, dead_letter, record_group
from hub.settings import HubSettings
from protocol import topics
from protocol.settings import ConfigError

log = logging.getLogger(__name__)

# Tuning, with the reason for each value; tests may patch them.
QUEUE_SIZE = 10_000  # QoS 0 heartbeats beyond this are dropped; QoS 1 is bounded by the broker's in-flight limit
POLL_SECONDS = 0.2  # how often an idle loop looks at the stop flag and for commands to publish
RETRY_MIN_SECONDS = 0.2  # first wait when the database does not answer; doubled on every failure ...
RETRY_MAX_SECONDS = 10.0  # ... up to this, so a returning database is not stormed
COMMAND_POLL_SECONDS = 1.0  # how often the loop looks for commands staff wrote

UNAVAILABLE = (DatabaseUnavailable, OperationalError, InterfaceError)
"""The database (not a message) is the problem: roll back, keep the messages, try again later."""


@dataclass(frozen=True, slots=True)
class Received:
    """A message as paho delivered it, with what is needed to acknowledge it on the same connection."""

    topic: str
    payload: bytes
    mid: int = 0
    qos: int = 0
    generation: int = 0

    @property
    def incoming(self) -> Incoming:
        return Incoming(self.topic, self.payload)


def _merge(total: GroupOutcome, part: GroupOutcome) -> None:
    total.acks.extend(part.acks)
    total.new_actions += part.new_actions
    total.duplicates += part.duplicates
    total.dead_letters += part.dead_letters
    total.handled += part.handled


class Ingest:
    """The queue between paho's thread and the database, and the loop that drains it."""

    def __init__(
        self,
        engine: Engine,
        *,
        batch_max: int = 500,
        batch_wait_ms: int = 0,
        handlers: Handlers | None = None,
        outlet: Outlet | None = None,
    ) -> None:
        self.sessions = make_session_factory(engine)
        self.inbox: queue.Queue[Received] = queue.Queue(maxsize=QUEUE_SIZE)
        self.stop = threading.Event()
        self.subscribed = threading.Event()
        self.batch_max = batch_max
        self.batch_wait = batch_wait_ms / 1000
        self.handlers = handlers if handlers is not None else default_handlers()
        self.outlet = outlet
        self.generation = 0  # counts connections: a message is acked only on the connection it came on
        self.connected = False
        self.handled = 0
        self.groups = 0
        self.dropped = 0
        self._next_command_poll = 0.0
        self.announced: dict[str, int] = {}  # set versions this process has announced (retained)

    # ---- paho's thread: decode nothing, queue everything ----------------------------------------------
    def on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        """paho callback: queue the message, nothing more (and never raise into paho's thread)."""
        try:
            try:
                topic = str(message.topic)
            except UnicodeDecodeError:
                topic = "(topic is not UTF-8)"
            item = Received(topic, bytes(message.payload), int(message.mid), int(message.qos), self.generation)
            if item.qos == 0:
                self.inbox.put_nowait(item)  # a heartbeat: losing one under overload is harmless
            else:
                self.inbox.put(item)
        except queue.Full:
            self.dropped += 1
        except Exception:  # paho's thread must survive anything a message does
            log.exception("could not queue a received message")

    def on_connect(self, client: Any, _userdata: Any, _flags: Any, reason_code: Any, _properties: Any) -> None:
        """paho callback: a new connection; (re)subscribe to every device's up topics, shared."""
        if reason_code.is_failure:
            log.error("broker refused the connection", extra={"reason": str(reason_code)})
            return
        self.generation += 1
        self.connected = True
        self._next_command_poll = 0.0
        self.announced = {}  # a broker that restarted may have lost its retained notices: announce again
        client.subscribe(topics.ingest_subscription(), qos=1)
        log.info("connected", extra={"subscription": topics.ingest_subscription()})

    def on_subscribe(self, _client: Any, _userdata: Any, _mid: Any, reason_codes: Any, _properties: Any) -> None:
        """paho callback: the broker confirmed the subscription."""
        if all(not code.is_failure for code in reason_codes):
            self.subscribed.set()
            log.info("subscribed", extra={"subscription": topics.ingest_subscription()})
        else:
            log.error("subscription refused", extra={"reason": ", ".join(str(c) for c in reason_codes)})

    def on_disconnect(self, _client: Any, _userdata: Any, _flags: Any, reason_code: Any, _properties: Any) -> None:
        """paho callback: the connection is gone; paho reconnects with back-off."""
        self.connected = False
        log.warning("disconnected from the broker; paho reconnects", extra={"reason": str(reason_code)})

    # ---- the main thread -------------------------------------------------------------------------------
    def gather(self) -> list[Received]:
        """The next group: wait for one message, then take more for up to ``batch_wait``, at most ``batch_max``."""
        try:
            items = [self.inbox.get(timeout=POLL_SECONDS)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self.batch_wait
        while len(items) < self.batch_max:
            remaining = deadline - time.monotonic()
            try:
                items.append(self.inbox.get(timeout=remaining) if remaining > 0 else self.inbox.get_nowait())
            except queue.Empty:
                break
        return items

    def _record(self, items: list[Received]) -> GroupOutcome:
        with unit_of_work(self.sessions) as session:
            return record_group(session, [item.incoming for item in items], utcnow(), self.handlers)

    def _record_each(self, items: list[Received]) -> GroupOutcome:
        """Fallback after an unexpected error: one transaction per message, so one cannot hold up the others."""
        total = GroupOutcome()
        for item in items:
            try:
                part = self._record([item])
            except UNAVAILABLE:
                raise
            except Exception as exc:  # a bug met by this message: keep it as a dead letter, go on (SEC-19)
                log.exception("could not record a message", extra={"topic": item.topic[:200]})
                with unit_of_work(self.sessions) as session:
                    reason = f"the hub failed to record it ({type(exc).__name__}: {str(exc)[:300]})"
                    dead_letter(session, item.incoming, ERROR, reason, utcnow())
                part = GroupOutcome(dead_letters=1, handled=1)
            _merge(total, part)
        return total

    def deliver(self, items: list[Received]) -> bool:
        """Record ``items`` (retrying while the database is away), then publish the acks, then MQTT-ack them.

        Returns False when told to stop before the messages could be recorded (they stay unacked).
        """
        delay, recorder = RETRY_MIN_SECONDS, self._record
        while True:
            try:
                outcome = recorder(items)
                break
            except UNAVAILABLE as exc:
                reason = str(exc).strip().splitlines()
                log.error(
                    "database unavailable; the messages wait unacked",
                    extra={"reason": (reason[0] if reason else type(exc).__name__)[:300], "retry_s": delay},
                )
                if self.stop.wait(delay):
                    return False
                delay = min(delay * 2, RETRY_MAX_SECONDS)
            except Exception:  # not the database: a message met a bug; fall back to one transaction each
                log.exception("could not record a group of messages; recording them one by one")
                recorder = self._record_each
        self.handled += outcome.handled
        self.groups += 1
        if self.outlet is not None:
            publish_acks(self.outlet, outcome.acks)
            for item in items:
                if item.qos > 0 and item.generation == self.generation:
                    self.outlet.ack(item.mid, item.qos)
        return True

    def poll_commands(self) -> None:
        """Publish commands staff wrote and set versions the web stored, right after connecting and then every
        `COMMAND_POLL_SECONDS`."""
        if self.outlet is None or not self.connected or time.monotonic() < self._next_command_poll:
            return
        self._next_command_poll = time.monotonic() + COMMAND_POLL_SECONDS
        try:
            publish_commands(self.sessions, self.outlet)
            announce_sets(self.sessions, self.outlet, self.announced)
        except UNAVAILABLE:
            log.warning("cannot read device commands: the database does not answer")
        except Exception:  # the loop's edge: commands are tried again at the next poll
            log.exception("could not publish device commands")

    def drain(self) -> None:
        """Process messages until `stop` is set."""
        while not self.stop.is_set():
            self.poll_commands()
            items = self.gather()
            if not items:
                continue
            try:
                self.deliver(items)
            except Exception:  # the loop's edge: nothing a message does may stop the ingest (SEC-19)
                log.exception("unexpected error while delivering a group of messages")


def run_worker(
    settings: HubSettings,
    engine: Engine,
    *,
    stop: threading.Event | None = None,
    handlers: Handlers | None = None,
    ready: threading.Event | None = None,
) -> None:
    """Connect to the broker, subscribe to every device's up topics (shared), and record until stopped.

    ``ready`` (optional) is set once the broker has confirmed the subscription.
    """
    from protocol.mqtt import make_client

    if not (settings.mqtt_ca_file and settings.mqtt_cert_file and settings.mqtt_key_file):
        raise ConfigError("the ingest needs mqtt_ca_file, mqtt_cert_file and mqtt_key_file (the hub's certificate)")
    client_id = settings.ingest_mqtt_client_id()
    client = make_client(
        client_id,
        ca_file=settings.mqtt_ca_file,
        cert_file=settings.mqtt_cert_file,
        key_file=settings.mqtt_key_file,
        host=settings.mqtt_host,
        port=settings.mqtt_port,
        clean_start=False,  # a restarted ingest gets what it had not acked yet
    )
    client.manual_ack_set(True)  # a message is acked after its transaction committed, not on arrival
    ingest = Ingest(
        engine,
        batch_max=settings.ingest_batch_max,
        batch_wait_ms=settings.ingest_batch_wait_ms,
        handlers=handlers if handlers is not None else default_handlers(settings),
        outlet=PahoOutlet(client),
    )
    if stop is not None:
        ingest.stop = stop
    if ready is not None:
        ingest.subscribed = ready
    client.on_connect = ingest.on_connect
    client.on_subscribe = ingest.on_subscribe
    client.on_disconnect = ingest.on_disconnect
    client.on_message = ingest.on_message
    if stop is None and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: ingest.stop.set())
    log.info(
        "ingest starting",
        extra={"broker": f"{settings.mqtt_host}:{settings.mqtt_port}", "client_id": client_id},
    )
    client.loop_start()
    try:
        ingest.drain()
    finally:
        client.disconnect()
        client.loop_stop()
        log.info("ingest stopped", extra={"handled": ingest.handled, "groups": ingest.groups})
