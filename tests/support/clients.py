"""paho clients for tests, built by `protocol.mqtt.make_client` and driven with events and short timeouts.

`MqttTestClient` connects in paho's thread and turns the callbacks into blocking calls that wait at most
a few seconds: `subscribe` returns the SUBACK reason codes, `publish` the PUBACK reason code,
`next_message` the next message. `barrier` proves a negative without sleeping: Mosquitto writes to one
client in order, so once the PUBACK of a publish made *after* some event has arrived, any message that
event routed to this client has arrived too.
"""

from __future__ import annotations

import queue
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.reasoncodes import ReasonCode

from protocol.mqtt import make_client
from provisioning.pki import Credential

TIMEOUT = 5.0
# In no ACL: every publish there is refused, which still yields a PUBACK.
BARRIER_TOPIC = "tinget/v1/test/barrier"
NOT_AUTHORIZED = 0x87


@dataclass
class MqttTestClient:
    """One connected client; `close` it (the fixtures do)."""

    client: paho.Client
    name: str
    messages: queue.Queue[paho.MQTTMessage] = field(default_factory=queue.Queue)
    _connected: threading.Event = field(default_factory=threading.Event)
    _connect_reason: ReasonCode | None = None
    _acks: dict[int, Any] = field(default_factory=dict)
    _acked: threading.Condition = field(default_factory=threading.Condition)
    _vanished: bool = False

    def __post_init__(self) -> None:
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_ack
        self.client.on_subscribe = self._on_ack

    def _on_connect(self, _c: paho.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        self._connect_reason = reason
        if not reason.is_failure:
            self._connected.set()

    def _on_message(self, _c: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        self.messages.put(message)

    def _on_ack(self, _c: paho.Client, _u: object, mid: int, reason: Any, _p: object) -> None:
        with self._acked:
            self._acks[mid] = reason
            self._acked.notify_all()

    def _wait_ack(self, mid: int, what: str, timeout: float) -> Any:
        with self._acked:
            if not self._acked.wait_for(lambda: mid in self._acks, timeout=timeout):
                raise AssertionError(f"{self.name}: no {what} within {timeout}s")
            return self._acks.pop(mid)

    def connect(self, timeout: float = TIMEOUT) -> MqttTestClient:
        """Start paho's network thread and wait for a successful CONNACK."""
        self.client.loop_start()
        if not self._connected.wait(timeout):
            self.close()
            reason = self._connect_reason
            raise AssertionError(f"{self.name}: not connected within {timeout}s (CONNACK: {reason})")
        return self

    def subscribe(self, topic: str, qos: int = 1, timeout: float = TIMEOUT) -> list[ReasonCode]:
        """Subscribe and return the SUBACK's reason codes."""
        result, mid = self.client.subscribe(topic, qos=qos)
        assert result == paho.MQTT_ERR_SUCCESS, f"{self.name}: subscribe failed: {result}"
        return list(self._wait_ack(mid, "SUBACK", timeout))

    def publish(self, topic: str, payload: bytes, qos: int = 1, timeout: float = TIMEOUT) -> ReasonCode | None:
        """Publish; for QoS 1 wait for the PUBACK and return its reason code, for QoS 0 wait until sent."""
        info = self.client.publish(topic, payload, qos=qos)
        if qos == 0:
            info.wait_for_publish(timeout)
            return None
        return self._wait_ack(info.mid, "PUBACK", timeout)

    def barrier(self, timeout: float = TIMEOUT) -> None:
        """Return once everything the broker routed to us before this call has been received."""
        self.publish(BARRIER_TOPIC, b"", qos=1, timeout=timeout)

    def next_message(self, timeout: float = TIMEOUT) -> paho.MQTTMessage:
        """The next received message; AssertionError if none arrives in time."""
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"{self.name}: no message within {timeout}s") from None

    def received(self) -> list[tuple[str, bytes]]:
        """Everything received and not yet taken, as (topic, payload); call `barrier` first to be sure."""
        got = []
        while not self.messages.empty():
            message = self.messages.get_nowait()
            got.append((message.topic, message.payload))
        return got

    def until(self, payload: bytes, timeout: float = TIMEOUT) -> list[tuple[str, bytes]]:
        """Messages received before the one carrying ``payload`` (a sentinel), which is consumed too."""
        got, deadline = [], time.monotonic() + timeout
        while True:
            message = self.next_message(max(0.01, deadline - time.monotonic()))
            if message.payload == payload:
                return got
            got.append((message.topic, message.payload))

    def close(self) -> None:
        """Disconnect cleanly and stop paho's thread."""
        if self._vanished:
            return
        self.client.disconnect()
        self.client.loop_stop()

    def vanish(self) -> None:
        """Drop the connection without a DISCONNECT, like a kiosk losing power (the broker sends its will)."""
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.close()
        self._vanished = True


def build_client(
    client_id: str, credential: Credential, *, ca_file: Path, host: str, port: int, **options: Any
) -> paho.Client:
    """`make_client` with a credential's files."""
    return make_client(
        client_id,
        ca_file=ca_file,
        cert_file=credential.cert_file,
        key_file=credential.key_file,
        host=host,
        port=port,
        **options,
    )


def attempt_connection(client: paho.Client, timeout: float = TIMEOUT) -> tuple[bool, str]:
    """Connect once, synchronously, without paho's retries: (accepted by the broker?, what happened)."""
    outcome: dict[str, Any] = {}
    client.on_connect = lambda _c, _u, _f, reason, _p: outcome.setdefault("connack", reason)
    try:
        client.reconnect()
    except (OSError, ssl.SSLError) as exc:
        return False, f"handshake failed: {exc}"
    deadline = time.monotonic() + timeout
    try:
        while "connack" not in outcome and time.monotonic() < deadline:
            rc = client.loop(timeout=0.05)
            if rc != paho.MQTT_ERR_SUCCESS:
                return False, f"connection lost: {paho.error_string(rc)}"
    finally:
        client.disconnect()
        for _ in range(5):  # let paho send the DISCONNECT and close its socket
            if client.socket() is None:
                break
            client.loop(timeout=0.05)
    reason = outcome.get("connack")
    if reason is None:
        return False, "no CONNACK"
    return (not reason.is_failure), f"CONNACK {reason}"
