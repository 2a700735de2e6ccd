"""The ingest process: one paho client (via `protocol.mqtt`), a queue, and a loop that writes to the database.

paho's callbacks only put messages on a queue; the main thread takes them off and records each in its own
unit of work, so the database is never touched on paho's network thread (STYLE.md habit 7).
"""

from __future__ import annotations

import logging
import queue
import re
import signal
import socket
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from hub.db import DatabaseUnavailable, make_session_factory, unit_of_work, utcnow
from hub.ingest.records import handle
from hub.settings import HubSettings
from protocol import topics
from protocol.settings import ConfigError

log = logging.getLogger(__name__)

QUEUE_SIZE = 10_000  # paho blocks its thread when we are this far behind, which slows the broker's sends
DB_RETRY_SECONDS = 2.0  # when the database does not answer, the same message is tried again after this
POLL_SECONDS = 0.5  # how often the loop looks at the stop flag while the queue is empty


@dataclass(frozen=True, slots=True)
class Received:
    """A message as paho delivered it."""

    topic: str
    payload: bytes


class Ingest:
    """The queue between paho's thread and the database, and the loop that drains it."""

    def __init__(self, engine: Engine) -> None:
        self.sessions = make_session_factory(engine)
        self.inbox: queue.Queue[Received] = queue.Queue(maxsize=QUEUE_SIZE)
        self.stop = threading.Event()
        self.handled = 0

    def on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        """paho callback: queue the message, nothing more."""
        self.inbox.put(Received(str(message.topic), bytes(message.payload)))

    def process(self, item: Received) -> str:
        """Record one message, retrying while the database does not answer (until told to stop)."""
        while True:
            try:
                with unit_of_work(self.sessions) as session:
                    outcome = handle(session, item.topic, item.payload, utcnow())
                self.handled += 1
                return outcome
            except (DatabaseUnavailable, SQLAlchemyError) as exc:
                log.error("cannot record message; retrying", extra={"reason": str(exc).splitlines()[0][:300]})
                if self.stop.wait(DB_RETRY_SECONDS):
                    return "stopped"

    def drain(self) -> None:
        """Process messages until `stop` is set."""
        while not self.stop.is_set():
            try:
                item = self.inbox.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            try:
                self.process(item)
            except Exception:  # the loop's edge: one bad message must never stop the ingest (SEC-19)
                log.exception("unexpected error while recording a message", extra={"topic": item.topic[:200]})


def client_id() -> str:
    """A stable client id per host: the broker keeps this worker's session across restarts."""
    host = re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().lower()).strip("-") or "host"
    return f"hub-ingest-{host}"[:64]


def run_worker(settings: HubSettings, engine: Engine, *, stop: threading.Event | None = None) -> None:
    """Connect to the broker, subscribe to every device's up topics (shared), and record until stopped."""
    from protocol.mqtt import make_client

    if not (settings.mqtt_ca_file and settings.mqtt_cert_file and settings.mqtt_key_file):
        raise ConfigError("the ingest needs mqtt_ca_file, mqtt_cert_file and mqtt_key_file (the hub's certificate)")
    ingest = Ingest(engine)
    if stop is not None:
        ingest.stop = stop
    client = make_client(
        client_id(),
        ca_file=settings.mqtt_ca_file,
        cert_file=settings.mqtt_cert_file,
        key_file=settings.mqtt_key_file,
        host=settings.mqtt_host,
        port=settings.mqtt_port,
    )

    def on_connect(client: Any, _userdata: Any, _flags: Any, reason_code: Any, _properties: Any) -> None:
        if reason_code.is_failure:
            log.error("broker refused the connection", extra={"reason": str(reason_code)})
            return
        client.subscribe(topics.ingest_subscription(), qos=1)
        log.info("connected and subscribed", extra={"subscription": topics.ingest_subscription()})

    def on_disconnect(_client: Any, _userdata: Any, _flags: Any, reason_code: Any, _properties: Any) -> None:
        log.warning("disconnected from the broker; paho reconnects", extra={"reason": str(reason_code)})

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_message = ingest.on_message
    if stop is None and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: ingest.stop.set())
    log.info("ingest starting", extra={"broker": f"{settings.mqtt_host}:{settings.mqtt_port}"})
    client.loop_start()
    try:
        ingest.drain()
    finally:
        client.disconnect()
        client.loop_stop()
        log.info("ingest stopped", extra={"handled": ingest.handled})
