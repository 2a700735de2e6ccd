"""`tinget kiosk sync` today: the kiosk says it is online, sends heartbeats, says offline when it stops."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from protocol import topics
from protocol.messages import DeviceState, Heartbeat, decode_up

pytestmark = pytest.mark.broker


def _next_of(client, kind: type, timeout: float = 5.0):
    while True:
        message = client.next_message(timeout=timeout)
        decoded = decode_up(message.topic, message.payload)
        if isinstance(decoded, kind):
            return message, decoded


def test_the_sync_agent_announces_online_sends_heartbeats_and_leaves_offline(
    kiosk_settings, mosquitto, mqtt_client
):
    """SEC-17: the kiosk publishes only as itself, under its own up/ topics, with TLS and its certificate."""
    from kiosk.presence import run_presence
    from kiosk.store import make_engine, upgrade

    device = mosquitto.device("ange")
    settings = dataclasses.replace(
        kiosk_settings,
        mqtt_host=mosquitto.host,
        mqtt_port=mosquitto.port,
        mqtt_ca_file=mosquitto.ca_file,
        mqtt_cert_file=device.cert_file,
        mqtt_key_file=device.key_file,
        heartbeat_seconds=1,
    )
    engine = make_engine(settings.database)
    upgrade(engine, "ange")
    engine.dispose()
    hub = mqtt_client("hub")
    hub.subscribe(f"{topics.PREFIX}/kiosk/ange/up/#")

    stop = threading.Event()
    agent = threading.Thread(target=run_presence, args=(settings, stop), daemon=True)
    agent.start()
    try:
        message, state = _next_of(hub, DeviceState)
        assert message.topic == topics.device_up("ange", topics.STATE)
        assert (state.state, state.sender) == ("online", "ange")
        assert message.retain is False  # delivered live; the broker keeps it retained for late subscribers
        _message, beat = _next_of(hub, Heartbeat)
        assert beat.outbox_depth == 0
        assert beat.reader_state == "unknown"
        assert beat.cert_expires_at is not None
    finally:
        stop.set()
        agent.join(timeout=10)
    assert not agent.is_alive()
    _message, state = _next_of(hub, DeviceState)
    assert state.state == "offline"

    late = mqtt_client("hub")
    late.subscribe(topics.device_up("ange", topics.STATE))
    retained = late.next_message()
    assert retained.retain is True
    assert decode_up(retained.topic, retained.payload).state == "offline"
