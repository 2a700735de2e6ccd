"""A tiny stand-in for the hub's ingest, and helpers to run the kiosk's sync agent against a real broker.

`FakeHub` connects with the hub's certificate, listens to every kiosk's up topics, records what arrives and,
while ``acking`` is on, answers each `ActionBatch` with an `Ack` naming every action in it (as the real ingest
does after its commit). Enough to prove the kiosk's side of the contract; the real ingest has its own tests.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

from protocol import topics
from protocol.messages import (
    HUB_SENDER,
    Ack,
    ActionBatch,
    Command,
    DeviceState,
    Heartbeat,
    decode_up,
    new_message_id,
    now_ms,
    to_payload,
)
from tests.support.clients import build_client

WAIT = 10.0


class FakeHub:
    """Records batches, heartbeats and states from kiosks; acks batches while ``acking``."""

    def __init__(self, broker: Any, *, acking: bool = True, clock_ms: Callable[[], int] = now_ms) -> None:
        self.acking = acking
        self.clock_ms = clock_ms  # the hub's clock, stamped on acks (skew it to test the offset estimate)
        self.batches: list[ActionBatch] = []
        self.heartbeats: list[Heartbeat] = []
        self.states: list[DeviceState] = []
        self.seen: Counter[str] = Counter()
        self._changed = threading.Condition()
        self.client = build_client(
            f"fake-hub-{new_message_id()[-6:]}",
            broker.hub,
            ca_file=broker.ca_file,
            host=broker.host,
            port=broker.port,
            clean_start=False,  # a persistent session: what kiosks send while the broker restarts is kept
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self._connected = threading.Event()

    def _on_connect(self, client: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            client.subscribe(f"{topics.PREFIX}/kiosk/+/up/#", qos=1)
            self._connected.set()

    def _on_message(self, client: paho.Client, _u: Any, message: paho.MQTTMessage) -> None:
        decoded = decode_up(message.topic, message.payload)
        if isinstance(decoded, ActionBatch):
            ids = tuple(a.msg_id for a in decoded.actions)
            if self.acking:
                ack = Ack(
                    msg_id=new_message_id(),
                    sender=HUB_SENDER,
                    sent_at=self.clock_ms(),
                    batch_id=decoded.msg_id,
                    acked=ids,
                )
                client.publish(topics.device_down(decoded.sender, topics.ACK), to_payload(ack), qos=1)
        with self._changed:
            if isinstance(decoded, ActionBatch):
                self.batches.append(decoded)
                self.seen.update(a.msg_id for a in decoded.actions)
            elif isinstance(decoded, Heartbeat):
                self.heartbeats.append(decoded)
            elif isinstance(decoded, DeviceState):
                self.states.append(decoded)
            self._changed.notify_all()

    def start(self) -> FakeHub:
        """Connect and subscribe (wait until subscribed, so nothing published afterwards is missed)."""
        self.client.loop_start()
        assert self._connected.wait(WAIT), "fake hub: not connected"
        time.sleep(0.1)  # the SUBACK follows the CONNACK at once
        return self

    def wait_until(self, condition: Callable[[FakeHub], bool], timeout: float = WAIT, what: str = "") -> None:
        """Wait until ``condition(self)`` holds, re-checked on every message."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"fake hub: timed out waiting for {what or condition}")
                self._changed.wait(min(left, 0.2))

    def batches_holding(self, action_id: str) -> list[ActionBatch]:
        """Every batch that carried ``action_id``, in arrival order."""
        with self._changed:
            return [b for b in self.batches if any(a.msg_id == action_id for a in b.actions)]

    def command(self, device: str, name: str, command_id: str | None = None) -> str:
        """Send a command (QoS 1) and return its id; reuse ``command_id`` to send the same command again."""
        command_id = command_id or new_message_id()
        message = Command.create(sender=HUB_SENDER, command_id=command_id, name=name)
        info = self.client.publish(topics.device_down(device, topics.COMMAND), to_payload(message), qos=1)
        info.wait_for_publish(WAIT)
        return command_id

    def close(self) -> None:
        """Disconnect and stop paho's thread."""
        self.client.disconnect()
        self.client.loop_stop()


def device_settings(base: Any, broker: Any, device: str = "ange", **overrides: Any) -> Any:
    """``base`` kiosk settings pointed at ``broker`` with ``device``'s certificate, fast timers, overrides."""
    credential = broker.device(device)
    fast: dict[str, Any] = {
        "mqtt_host": broker.host,
        "mqtt_port": broker.port,
        "mqtt_ca_file": broker.ca_file,
        "mqtt_cert_file": credential.cert_file,
        "mqtt_key_file": credential.key_file,
        "heartbeat_seconds": 1,
        "sync_ack_timeout_seconds": 5.0,
        "sync_backoff_max_seconds": 10.0,
    }
    return dataclasses.replace(base, **{**fast, **overrides})


def upgraded(database: Path, device: str = "ange") -> None:
    """Create and migrate the kiosk database."""
    from kiosk.store import make_engine, upgrade

    engine = make_engine(database)
    upgrade(engine, device)
    engine.dispose()


class AgentThread:
    """The sync agent in a thread of the test process, stopped like SIGTERM would (`stop`)."""

    def __init__(self, settings: Any, config_path: Path | None = None) -> None:
        from kiosk.sync.agent import run_sync

        self.stop_event = threading.Event()
        self.exit_code: int | None = None

        def run() -> None:
            self.exit_code = run_sync(settings, config_path=config_path, stop=self.stop_event)

        self.thread = threading.Thread(target=run, name="sync-agent", daemon=True)

    def start(self) -> AgentThread:
        self.thread.start()
        return self

    def stop(self, timeout: float = WAIT) -> int | None:
        """Stop and join; the exit code the agent returned."""
        self.stop_event.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the sync agent did not stop"
        return self.exit_code

    def join(self, timeout: float = WAIT) -> int | None:
        """Wait for the agent to end by itself (a restart command)."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the sync agent did not end"
        return self.exit_code
