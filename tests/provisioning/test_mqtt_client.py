"""`protocol.mqtt`: the one paho client builder (paho 2.x pitfalls settled) and the broker health probe."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from protocol import mqtt, topics
from provisioning.pki import PkiLayout
from tests.support.clients import MqttTestClient, build_client
from tests.support.mosquitto import MosquittoBroker, free_port

ClientFactory = Callable[..., MqttTestClient]
ANGE_ACK = topics.device_down("ange", topics.ACK)


def _client(pki: PkiLayout, **options: object) -> paho.Client:
    return build_client("ange", pki.device("ange"), ca_file=pki.chain, host="127.0.0.1", port=8883, **options)


def test_make_client_speaks_mqtt5_with_explicit_clean_start_and_session_expiry(pki: PkiLayout) -> None:
    """paho 2.x defaults to clean_start "first connect only" and no session expiry: both are set here."""
    client = _client(pki)
    assert client.protocol == paho.MQTTv5
    assert client._clean_start is False  # private in paho; the pitfall is exactly its default
    assert client._connect_properties.SessionExpiryInterval == mqtt.SESSION_EXPIRY_SECONDS
    fresh = _client(pki, clean_start=True, session_expiry=0)
    assert fresh._clean_start is True
    assert fresh._connect_properties.SessionExpiryInterval == 0


def test_make_client_caps_paho_queues_and_backs_off_reconnects(pki: PkiLayout) -> None:
    client = _client(pki)
    assert client.max_inflight_messages == mqtt.MAX_INFLIGHT
    assert client.max_queued_messages == mqtt.MAX_QUEUED > 0
    assert (client._reconnect_min_delay, client._reconnect_max_delay) == (1, 60)
    assert (client.host, client.port, client.keepalive) == ("127.0.0.1", 8883, mqtt.KEEPALIVE_SECONDS)


def test_make_client_does_no_io(pki: PkiLayout) -> None:
    assert _client(pki).socket() is None


def test_make_client_requires_a_client_id(pki: PkiLayout) -> None:
    with pytest.raises(ValueError, match="client id"):
        build_client("", pki.device("ange"), ca_file=pki.chain, host="127.0.0.1", port=8883)


def test_the_tls_context_verifies_the_broker_and_its_host_name(pki: PkiLayout) -> None:
    cred = pki.hub_client
    context = mqtt.tls_context(pki.chain, cred.cert_file, cred.key_file)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_the_will_is_configured_from_a_will_value(pki: PkiLayout) -> None:
    will = mqtt.Will(topics.device_up("ange", topics.STATE), b"offline")
    client = _client(pki, will=will)
    assert (client.will_topic, client.will_payload) == (will.topic, b"offline")


@pytest.mark.broker
def test_the_broker_publishes_the_will_of_a_kiosk_that_vanishes(
    mosquitto: MosquittoBroker, mqtt_client: ClientFactory
) -> None:
    hub = mqtt_client("hub")
    hub.subscribe(topics.ingest_subscription())
    state = topics.device_up("ange", topics.STATE)
    ange = mqtt_client("ange", will=mqtt.Will(state, b"offline"))
    ange.vanish()
    message = hub.next_message()
    assert (message.topic, message.payload) == (state, b"offline")
    late = mqtt_client("hub")
    late.subscribe(state)
    retained = late.next_message()
    assert (retained.payload, retained.retain) == (b"offline", True)


@pytest.mark.broker
def test_a_kiosk_finds_acks_queued_while_it_was_away_even_across_a_broker_restart(
    mosquitto: MosquittoBroker, mqtt_client: ClientFactory
) -> None:
    """The session (subscription + queued QoS 1) outlives a disconnect and a broker restart (persistence)."""
    ange = mqtt_client("ange", client_id="ange")
    ange.subscribe(topics.device_down_subscription("ange"))
    ange.close()
    mqtt_client("hub").publish(ANGE_ACK, b"ack-1")
    mosquitto.restart()
    again = mqtt_client("ange", client_id="ange")
    assert again.next_message().payload == b"ack-1"


@pytest.mark.broker
def test_without_a_session_expiry_the_queued_acks_are_lost(
    mosquitto: MosquittoBroker, mqtt_client: ClientFactory
) -> None:
    """Why make_client always sends one: expiry 0 ends the session at disconnect, clean_start=False or not."""
    ange = mqtt_client("ange", client_id="ange", session_expiry=0)
    ange.subscribe(topics.device_down_subscription("ange"))
    ange.close()
    mqtt_client("hub").publish(ANGE_ACK, b"ack-1")
    again = mqtt_client("ange", client_id="ange", session_expiry=0)
    again.subscribe(topics.device_down_subscription("ange"))
    again.barrier()
    assert again.received() == []


@pytest.mark.broker
def test_probe_reports_a_healthy_broker(mosquitto: MosquittoBroker) -> None:
    cred = mosquitto.hub
    ok, detail = mqtt.probe_broker(mosquitto.host, mosquitto.port, mosquitto.ca_file, cred.cert_file, cred.key_file)
    assert ok, detail
    assert "TLSv1.3" in detail


@pytest.mark.broker
def test_probe_reports_a_refused_certificate(mosquitto: MosquittoBroker, foreign_pki: PkiLayout) -> None:
    """SEC-17: a foreign certificate is refused after a TLS 1.3 handshake; the probe still sees it."""
    cred = foreign_pki.device("ange")
    ok, detail = mqtt.probe_broker(mosquitto.host, mosquitto.port, mosquitto.ca_file, cred.cert_file, cred.key_file)
    assert not ok
    assert "not reachable" in detail or "closed" in detail


@pytest.mark.broker
def test_probe_reports_a_broker_it_does_not_trust(mosquitto: MosquittoBroker, foreign_pki: PkiLayout) -> None:
    cred = foreign_pki.hub_client
    ok, detail = mqtt.probe_broker(mosquitto.host, mosquitto.port, foreign_pki.chain, cred.cert_file, cred.key_file)
    assert (ok, detail.split(":")[0]) == (False, "broker certificate not trusted")


def test_probe_reports_no_broker_and_missing_files(pki: PkiLayout, tmp_path: Path) -> None:
    cred = pki.hub_client
    ok, detail = mqtt.probe_broker("127.0.0.1", free_port(), pki.chain, cred.cert_file, cred.key_file, timeout=1)
    assert not ok and "not reachable" in detail
    ok, detail = mqtt.probe_broker("127.0.0.1", 8883, tmp_path / "none.pem", cred.cert_file, cred.key_file)
    assert not ok and detail.startswith("cannot load TLS material")
