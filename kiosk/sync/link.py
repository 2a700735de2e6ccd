"""The sync agent's one MQTT connection (paho), as events on a queue. No database here.

paho's callbacks run on its network thread and only put events on a queue (or count PUBACKs); the agent's
main thread takes them. Incoming messages are acknowledged to the broker *manually*, after the main thread
has handled them (committed an ack's deliveries, executed a command): a kiosk killed in between gets the
message again from its persistent session instead of losing it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

from kiosk.presence import state_payload
from kiosk.settings import KioskSettings
from protocol import mqtt, topics
from protocol.messages import now_ms
from protocol.settings import ConfigError

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_SECONDS = 5.0  # for the final "offline" on a clean stop; never wait without a limit
# Stop handing paho batches while this many of our QoS 1 publishes await a PUBACK: its queue is memory only
# (the outbox holds the rest), and a full paho queue refuses even the retained state.
QUEUE_HEADROOM = 50
PAHO_QUEUE_LIMIT = mqtt.MAX_QUEUED - QUEUE_HEADROOM


@dataclass(frozen=True, slots=True)
class Connected:
    """The broker accepted us (``generation`` counts connections since start)."""

    generation: int
    session_present: bool
    at: float = 0.0  # time.monotonic() when the broker accepted us (0: unknown)


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The connection ended; paho reconnects by itself with back-off."""

    generation: int
    reason: str


@dataclass(frozen=True, slots=True)
class Received:
    """A message on one of our subscriptions; `BrokerLink.ack` it once handled."""

    generation: int
    topic: str
    payload: bytes
    mid: int
    qos: int
    received_ms: int  # Unix ms on the kiosk clock, taken in paho's thread as the message arrived


Event = Connected | Disconnected | Received


def tls_files(settings: KioskSettings) -> tuple[Path, Path, Path]:
    """The CA, certificate and key files of the device, or a `ConfigError` naming what is missing."""
    ca, cert, key = settings.mqtt_ca_file, settings.mqtt_cert_file, settings.mqtt_key_file
    if ca is None or cert is None or key is None:
        raise ConfigError(
            "the sync agent needs mqtt_ca_file, mqtt_cert_file and mqtt_key_file (the device certificate "
            "from `tinget provision`); set them in the [mqtt] table of the kiosk's settings file"
        )
    return ca, cert, key


class BrokerLink:
    """The kiosk's MQTT client: client id = device id, persistent session, last will "offline"."""

    def __init__(self, settings: KioskSettings) -> None:
        ca, cert, key = tls_files(settings)
        self.device = settings.device_id
        self.events: queue.Queue[Event] = queue.Queue()
        self._state_topic = topics.device_up(self.device, topics.STATE)
        self._generation = 0
        # paho's queue seen from outside: mids it has taken and not yet confirmed (PUBACK; QoS 0: written)
        self._unacked: set[int] = set()
        self._early: set[int] = set()
        self._lock = threading.Lock()
        self.client = mqtt.make_client(
            self.device,
            ca_file=ca,
            cert_file=cert,
            key_file=key,
            host=settings.mqtt_host,
            port=settings.mqtt_port,
            will=mqtt.Will(self._state_topic, state_payload(self.device, "offline")),
            clean_start=False,  # acks and commands queued while we were away are delivered on return
        )
        self.client.manual_ack_set(True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish

    # ---- paho's thread: queue and count only ---------------------------------------------------------
    def _on_connect(self, client: paho.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("the broker refused the connection", extra={"reason": str(reason)})
            return
        with self._lock:
            self._generation += 1
            generation = self._generation
        client.subscribe(topics.device_down_subscription(self.device), qos=1)
        client.subscribe(topics.sets_subscription(), qos=1)
        online = client.publish(self._state_topic, state_payload(self.device, "online"), qos=1, retain=True)
        self._track(online, 1)
        accepted = time.monotonic()
        self.events.put(Connected(generation, bool(getattr(flags, "session_present", False)), accepted))

    def _on_disconnect(self, _c: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.events.put(Disconnected(self._generation, str(reason)))

    def _on_message(self, _c: paho.Client, _u: Any, message: paho.MQTTMessage) -> None:
        received = Received(self._generation, message.topic, bytes(message.payload), message.mid, message.qos, now_ms())
        self.events.put(received)

    def _on_publish(self, _c: paho.Client, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        with self._lock:
            if mid in self._unacked:
                self._unacked.discard(mid)
            else:  # PUBACK before `_track` saw the mid: the publishing thread consumes this
                self._early.add(mid)
        if getattr(reason, "is_failure", False):
            log.warning("the broker refused a publish", extra={"reason": str(reason)})

    def _track(self, info: paho.MQTTMessageInfo, qos: int) -> bool:
        """Count a publish paho has taken until its PUBACK (or, at QoS 0, until it is written)."""
        taken = info.rc == paho.MQTT_ERR_SUCCESS or (qos > 0 and info.rc == paho.MQTT_ERR_NO_CONN)
        if taken:
            with self._lock:
                if info.mid in self._early:
                    self._early.discard(info.mid)
                else:
                    self._unacked.add(info.mid)
        return taken

    # ---- the main thread ------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in paho's thread (retrying with back-off until it succeeds)."""
        self.client.loop_start()

    @property
    def connected(self) -> bool:
        """Whether the connection is up right now."""
        return bool(self.client.is_connected())

    def take(self, timeout: float) -> list[Event]:
        """Every queued event, waiting up to ``timeout`` seconds for the first."""
        try:
            first = self.events.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return []
        events = [first]
        while True:
            try:
                events.append(self.events.get_nowait())
            except queue.Empty:
                return events

    def wake(self) -> None:
        """Make a waiting `take` return (e.g. on a stop signal)."""
        self.events.put(Disconnected(-1, "wake"))

    def queue_room(self) -> int:
        """How many more publishes paho may take before the agent stops draining the outbox."""
        with self._lock:
            return PAHO_QUEUE_LIMIT - len(self._unacked)

    def publish(self, kind: str, payload: bytes, qos: int = 1) -> bool:
        """Publish on our own up/``kind`` topic; False if paho did not take it (not connected, queue full)."""
        info = self.client.publish(topics.device_up(self.device, kind), payload, qos=qos)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            log.info("publish not sent now", extra={"kind": kind, "rc": paho.error_string(info.rc)})
        return self._track(info, qos) and info.rc == paho.MQTT_ERR_SUCCESS

    def ack(self, event: Received) -> None:
        """Tell the broker a received message is handled (only on the connection it arrived on)."""
        if event.qos and event.generation == self._generation and self.connected:
            self.client.ack(event.mid, event.qos)

    def close(self) -> None:
        """Say "offline" (retained, waiting a bounded time), disconnect and stop paho's thread."""
        try:
            if self.connected:
                info = self.client.publish(self._state_topic, state_payload(self.device, "offline"), 1, True)
                self._track(info, 1)
                if info.rc == paho.MQTT_ERR_SUCCESS:
                    info.wait_for_publish(timeout=CLOSE_TIMEOUT_SECONDS)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
