"""The ceiling: a bare paho QoS 1 publish-and-reply loop through the same broker, no database on either side.

A "kiosk" publishes the same `ActionBatch` payloads the sync agent sends, with the same window of batches in
flight, and a "hub" answers each with an `Ack` as soon as it arrives. Messages per second through this loop is
what the real pipeline could reach if storing and acknowledging cost nothing.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol import topics
from protocol.messages import Ack, Action, ActionBatch, from_payload, new_message_id, now_ms, to_payload
from protocol.mqtt import make_client

CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Identity:
    """TLS files of one MQTT identity."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def connected(client_id: str, ident: Identity, host: str, port: int, on_message: Any = None) -> Any:
    """A started, connected paho client (clean session: the ceiling keeps no broker-side state)."""
    client = make_client(
        client_id,
        ca_file=ident.ca_file,
        cert_file=ident.cert_file,
        key_file=ident.key_file,
        host=host,
        port=port,
        clean_start=True,
        session_expiry=0,
    )
    ready = threading.Event()
    client.on_connect = lambda *_a: ready.set()
    if on_message is not None:
        client.on_message = on_message
    client.loop_start()
    if not ready.wait(CONNECT_TIMEOUT):
        raise RuntimeError(f"{client_id} could not connect to {host}:{port}")
    return client


def sample_batch(device: str, size: int) -> ActionBatch:
    """A batch shaped like the sync agent's: ``size`` small actions."""
    at = now_ms()
    actions = tuple(Action(msg_id=new_message_id(), kind="bench", created_at=at, body={"n": i}) for i in range(size))
    return ActionBatch(msg_id=new_message_id(), sender=device, sent_at=at, actions=actions)


def run_ceiling(
    hub: Identity,
    device_ident: Identity,
    device: str,
    host: str,
    port: int,
    *,
    messages: int,
    batch_size: int,
    window: int,
    echo_id: str = "bench-hub-echo",
) -> float:
    """Messages per second through publish → reply, ``window`` batches in flight; the echo hub does no I/O."""

    def hub_on_message(client: Any, _u: Any, message: Any) -> None:
        _dev, kind = topics.parse_device_up(message.topic)
        if kind != topics.ACTIONS:
            return
        batch = from_payload(ActionBatch, message.payload)
        ack = Ack(
            msg_id=new_message_id(),
            sender="hub",
            sent_at=now_ms(),
            batch_id=batch.msg_id,
            acked=tuple(a.msg_id for a in batch.actions),
        )
        client.publish(topics.device_down(batch.sender, topics.ACK), to_payload(ack), qos=1)

    free = threading.Semaphore(window)
    done = threading.Event()
    counted = [0]

    def kiosk_on_message(_c: Any, _u: Any, message: Any) -> None:
        ack = from_payload(Ack, message.payload)
        counted[0] += len(ack.acked)
        free.release()
        if counted[0] >= messages:
            done.set()

    echo = connected(echo_id, hub, host, port, hub_on_message)
    echo.subscribe(topics.device_up(device, topics.ACTIONS), qos=1)  # its own echo: no shared-group hand-offs
    kiosk = connected(device, device_ident, host, port, kiosk_on_message)
    kiosk.subscribe(topics.device_down(device, topics.ACK), qos=1)
    time.sleep(0.3)  # let both subscriptions settle before the clock starts
    batches = [to_payload(sample_batch(device, batch_size)) for _ in range(messages // batch_size)]
    up = topics.device_up(device, topics.ACTIONS)
    started = time.perf_counter()
    for payload in batches:
        free.acquire()
        kiosk.publish(up, payload, qos=1)
    if not done.wait(120):
        raise RuntimeError(f"the ceiling loop stalled at {counted[0]} of {messages}")
    elapsed = time.perf_counter() - started
    for client in (kiosk, echo):
        client.disconnect()
        client.loop_stop()
    return messages / elapsed
