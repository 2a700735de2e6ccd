"""Announcing set versions: one short-lived MQTT client publishes each `SetVersion` retained, at QoS 1.

Used by ``tinget hub sets publish`` (a CLI process), never inside gunicorn workers. The broker keeps the last
retained notice per set, so a kiosk that connects later still learns every current version (DESIGN.md decision
2). A notice is only announced once its version is committed, so a kiosk never asks for a version that is not
there.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hub.settings import HubSettings
from protocol import mqtt, topics
from protocol.messages import SetVersion, to_payload
from protocol.settings import ConfigError

ANNOUNCE_TIMEOUT_SECONDS = 10.0  # to connect, and again for every PUBACK: a CLI must not hang on a dead broker


class AnnounceError(Exception):
    """The broker could not be reached or did not accept a notice; the message says which and why."""


def credentials(settings: HubSettings) -> tuple[Path, Path, Path]:
    """The hub's MQTT CA, certificate and key files; `ConfigError` if one is not set."""
    ca, cert, key = settings.mqtt_ca_file, settings.mqtt_cert_file, settings.mqtt_key_file
    if ca is None or cert is None or key is None:
        raise ConfigError(
            "announcing sets needs mqtt_ca_file, mqtt_cert_file and mqtt_key_file (the hub's client certificate, "
            "pki/hub/client.pem); set them in the [mqtt] table of the hub's settings file"
        )
    return ca, cert, key


def announce(settings: HubSettings, notices: Sequence[SetVersion], *, timeout: float | None = None) -> None:
    """Publish every notice retained on `protocol.topics.set_version`; return when the broker has them all.

    ``timeout`` (default `ANNOUNCE_TIMEOUT_SECONDS`) bounds the connection and, again, all the PUBACKs.
    """
    timeout = ANNOUNCE_TIMEOUT_SECONDS if timeout is None else timeout
    ca, cert, key = credentials(settings)
    client = mqtt.make_client(
        f"hub-sets-{os.getpid()}",  # unique per process: it must never evict the ingest's session
        ca_file=ca,
        cert_file=cert,
        key_file=key,
        host=settings.mqtt_host,
        port=settings.mqtt_port,
        session_expiry=0,
        clean_start=True,
    )
    done = threading.Condition()
    state: dict[str, Any] = {"connack": None, "acks": {}}

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        with done:
            state["connack"] = reason
            done.notify_all()

    def on_publish(_c: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        with done:
            state["acks"][mid] = reason
            done.notify_all()

    client.on_connect, client.on_publish = on_connect, on_publish
    where = f"{settings.mqtt_host}:{settings.mqtt_port}"
    client.loop_start()
    try:
        with done:
            if not done.wait_for(lambda: state["connack"] is not None, timeout):
                raise AnnounceError(f"the broker {where} did not accept a connection within {timeout:g} s")
            if state["connack"].is_failure:
                raise AnnounceError(f"the broker {where} refused the hub's connection ({state['connack']})")
        mids: dict[int, str] = {}
        for notice in notices:
            info = client.publish(topics.set_version(notice.name), to_payload(notice), qos=1, retain=True)
            mids[info.mid] = notice.name
        deadline = time.monotonic() + timeout
        with done:
            for mid, name in mids.items():
                acked = done.wait_for(lambda: mid in state["acks"], max(0.0, deadline - time.monotonic()))  # noqa: B023
                if not acked:
                    raise AnnounceError(f"the broker {where} did not confirm the notice for set {name!r} in time")
                reason = state["acks"][mid]
                if getattr(reason, "is_failure", False):
                    raise AnnounceError(f"the broker {where} refused the notice for set {name!r} ({reason})")
    finally:
        client.disconnect()
        client.loop_stop()
