"""How tests run the hub ingest against the real broker, in-process or as a subprocess, and play the kiosk.

Import from here (``from tests.hub.test_hub_ingest_harness import …``):

- `ingest_settings(url, broker, folder, **overrides)`: `HubSettings` for an ingest on ``broker``.
- `InProcessIngest(settings)`: a context manager running `hub.ingest.worker.run_worker` in a thread; it waits
  until the broker confirmed the shared subscription.
- `IngestProcess(url, broker, folder, client_id)`: ``tinget hub ingest --config …`` as a subprocess (`start`,
  `kill` with SIGKILL, `stop` with SIGTERM, `wait_subscribed`); its JSON log is ``folder/<client_id>.log``.
- `Kiosk(mqtt_client("ange"))`: publishes batches on its up topic and collects the hub's acks and commands.
- `batch(device, count)` / `same_actions(batch)`: an `ActionBatch`, and a resend of it (new batch id).
- `stored_ids(url, device)`: the msg_ids in ``received_actions`` (via `hub.ingest.received.received_ids`).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hub.db import make_engine, make_session_factory, unit_of_work
from hub.ingest.received import received_ids
from hub.ingest.worker import run_worker
from hub.settings import HubSettings, load_hub_settings
from protocol import messages, topics
from tests.hub.helpers import write_config, write_secret
from tinget.supervisor import die_with_parent

ROOT = Path(__file__).resolve().parents[2]
RUNNING: list[IngestProcess] = []  # every started process, so that `kill_all` can end them after a test


_die_with_parent = die_with_parent(signal.SIGKILL)  # nothing a test starts may outlive a killed run


def kill_all() -> None:
    """SIGKILL every ingest process the harness started that still runs (a fixture's teardown)."""
    while RUNNING:
        RUNNING.pop().kill()


def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def mqtt_values(broker: Any) -> dict[str, Any]:
    """The hub's broker settings for a `tests.support.mosquitto.MosquittoBroker`."""
    return {
        "mqtt_host": broker.host,
        "mqtt_port": broker.port,
        "mqtt_ca_file": broker.ca_file,
        "mqtt_cert_file": broker.hub.cert_file,
        "mqtt_key_file": broker.hub.key_file,
    }


def ingest_settings(url: str, broker: Any, folder: Path, **overrides: Any) -> HubSettings:
    """Settings for an ingest on ``broker`` and the database at ``url``."""
    secret = folder / "secret_key"
    if not secret.exists():
        write_secret(secret)
    values: dict[str, Any] = {
        "database_url": url,
        "data_dir": folder,
        "secret_key_file": secret,
        "ingest_client_id": f"hub-ingest-{secrets.token_hex(3)}",
        **mqtt_values(broker),
    }
    return load_hub_settings(None, **{**values, **overrides})


class InProcessIngest:
    """``run_worker`` in a thread of this process; ``with InProcessIngest(settings) as ingest: …``."""

    def __init__(self, settings: HubSettings, **worker_options: Any) -> None:
        self.settings = settings
        self.engine = make_engine(settings.database_url)
        self.stop_event = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(
            target=run_worker,
            args=(settings, self.engine),
            kwargs={"stop": self.stop_event, "ready": self.ready, **worker_options},
            daemon=True,
        )

    def __enter__(self) -> InProcessIngest:
        self.thread.start()
        assert self.ready.wait(10), "the ingest did not subscribe within 10 s"
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the loop, disconnect, and wait for the thread."""
        self.stop_event.set()
        self.thread.join(timeout=15)
        self.engine.dispose()
        assert not self.thread.is_alive(), "the ingest thread did not stop"


class IngestProcess:
    """``tinget hub ingest`` as its own process, as systemd runs it."""

    def __init__(self, url: str, broker: Any, folder: Path, client_id: str, **values: Any) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        settings = {"database_url": url, "ingest_client_id": client_id, "log_level": "info"}
        self.config = write_config(folder, **settings, **mqtt_values(broker), **values)
        self.log_file = folder / f"{client_id}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> IngestProcess:
        """Start it (appending to its log)."""
        self.log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tinget.cli", "hub", "ingest", "--config", str(self.config)],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                preexec_fn=_die_with_parent,  # no ingest may outlive a killed test run
            )
        RUNNING.append(self)
        return self

    def log_text(self) -> str:
        """What this run has logged so far."""
        data = self.log_file.read_bytes() if self.log_file.exists() else b""
        return data[self.log_offset :].decode("utf-8", errors="replace")

    def wait_subscribed(self, timeout: float = 15.0) -> None:
        """Until the broker confirmed its subscription (its log says so)."""

        def subscribed() -> bool:
            assert self.process is not None and self.process.poll() is None, f"ingest exited:\n{self.log_text()}"
            return '"subscribed"' in self.log_text()

        wait_for(subscribed, timeout, "the ingest process to subscribe")

    def kill(self) -> None:
        """SIGKILL: a crash, no goodbye to the broker or the database."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM and wait: a clean stop; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return int(self.process.returncode)


def batch(device: str, count: int, kind: str = "test-action") -> messages.ActionBatch:
    """A batch of ``count`` new actions of ``kind`` from ``device``."""
    actions = tuple(
        messages.Action(msg_id=messages.new_message_id(), kind=kind, created_at=messages.now_ms(), body={"n": i})
        for i in range(count)
    )
    return messages.ActionBatch.create(sender=device, actions=actions)


def same_actions(original: messages.ActionBatch) -> messages.ActionBatch:
    """A resend: the same actions in a new batch (a new batch id), as the kiosk's sync agent does."""
    return messages.ActionBatch.create(sender=original.sender, actions=original.actions)


class Kiosk:
    """Plays a kiosk's sync agent with a test MQTT client: publish batches, collect acks and commands."""

    def __init__(self, client: Any, device: str = "ange") -> None:
        self.client = client
        self.device = device
        client.subscribe(topics.device_down_subscription(device), qos=1)
        self.acks: dict[str, messages.Ack] = {}
        self.commands: list[messages.Command] = []

    def send(self, message: messages.Message, topic_device: str | None = None) -> None:
        """Publish on this kiosk's up topic for the message's kind (QoS 1, PUBACK awaited)."""
        topic = topics.device_up(topic_device or self.device, message.KIND)
        self.client.publish(topic, messages.to_payload(message), qos=1)

    def send_raw(self, kind: str, payload: bytes) -> None:
        """Publish bytes as they are on this kiosk's up topic ``kind``."""
        self.client.publish(topics.device_up(self.device, kind), payload, qos=1)

    def collect(self, timeout: float = 0.2) -> None:
        """Take whatever acks and commands have arrived (waiting at most ``timeout`` for the first)."""
        try:
            message = self.client.next_message(timeout)
        except AssertionError:
            return
        while True:
            decoded = messages.from_payload(topics.parse_device_down(message.topic)[1], message.payload)
            if isinstance(decoded, messages.Ack):
                self.acks[decoded.batch_id] = decoded
            elif isinstance(decoded, messages.Command):
                self.commands.append(decoded)
            if self.client.messages.empty():
                return
            message = self.client.messages.get_nowait()

    def wait_ack(self, batch_id: str, timeout: float = 10.0) -> messages.Ack:
        """The hub's Ack of ``batch_id``; AssertionError if none comes in time."""

        def acked() -> messages.Ack | None:
            self.collect()
            return self.acks.get(batch_id)

        ack: messages.Ack = wait_for(acked, timeout, f"the ack of batch {batch_id}")
        return ack

    def acked_ids(self) -> set[str]:
        """Every action id some Ack has named."""
        return {action_id for ack in self.acks.values() for action_id in ack.acked}


def stored_ids(url: str, device: str = "ange") -> list[str]:
    """The msg_ids ``received_actions`` holds for ``device``, each as often as it is stored (once!)."""
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine), write=False) as session:
            return received_ids(session, device)
    finally:
        engine.dispose()


def online(device: str) -> messages.DeviceState:
    """A DeviceState "online" from ``device``."""
    return messages.DeviceState.create(sender=device, state="online")


def test_an_ingest_config_for_a_subprocess_names_the_broker_and_the_client_id(tmp_path: Path, pki: Any) -> None:
    """The harness writes a settings file the ingest command reads as intended."""

    class Broker:
        host, port, ca_file, hub = "127.0.0.1", 18883, pki.chain, pki.hub_client

    process = IngestProcess("sqlite:///x.db", Broker(), tmp_path, "hub-ingest-7")
    settings = load_hub_settings(process.config)
    assert settings.ingest_client_id == "hub-ingest-7" and settings.mqtt_port == 18883
    assert settings.mqtt_cert_file == pki.hub_client.cert_file
