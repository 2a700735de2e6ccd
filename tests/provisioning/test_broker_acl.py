"""SEC-17 against the real Mosquitto with the generated config, and paho clients from `protocol.mqtt`.

Negative results are proven without sleeping: a sentinel published after the forbidden message arrives
alone, or a `barrier` (a PUBACK that Mosquitto writes after anything routed earlier) shows nothing came.
"""

from __future__ import annotations

import shutil
import ssl
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from protocol import topics
from provisioning.pki import PkiLayout, ensure_device, revoke_device
from tests.support.clients import NOT_AUTHORIZED, MqttTestClient, attempt_connection, build_client
from tests.support.mosquitto import MosquittoBroker

pytestmark = pytest.mark.broker

ClientFactory = Callable[..., MqttTestClient]
ANGE_UP = topics.device_up("ange", topics.ACTIONS)
FOLLINGE_UP = topics.device_up("follinge", topics.ACTIONS)


def _hub(mqtt_client: ClientFactory, broker: MosquittoBroker | None = None) -> MqttTestClient:
    hub = mqtt_client("hub", broker)
    assert [code.value for code in hub.subscribe(topics.ingest_subscription())] == [1]
    return hub


def test_a_client_without_a_certificate_is_refused(mosquitto: MosquittoBroker) -> None:
    """SEC-17: no certificate, no connection. (`make_client` cannot build such a client: made by hand.)"""
    context = ssl.create_default_context(cafile=str(mosquitto.ca_file))
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="intruder", protocol=paho.MQTTv5)
    client.tls_set_context(context)
    client.connect_async(mosquitto.host, mosquitto.port)
    accepted, detail = attempt_connection(client)
    assert not accepted, detail
    assert "peer did not return a certificate" in mosquitto.log_text()


@pytest.mark.parametrize("identity", ["ange", "hub"])
def test_a_client_with_a_certificate_from_a_foreign_ca_is_refused(
    mosquitto: MosquittoBroker, foreign_pki: PkiLayout, identity: str
) -> None:
    """SEC-17: a certificate that does not chain to our CA is refused, whatever name it claims."""
    credential = foreign_pki.hub_client if identity == "hub" else foreign_pki.device(identity)
    client = build_client(
        f"{identity}-impostor",
        credential,
        ca_file=mosquitto.ca_file,
        host=mosquitto.host,
        port=mosquitto.port,
    )
    accepted, detail = attempt_connection(client)
    assert not accepted, detail
    assert f"as {identity}-impostor" not in mosquitto.log_text()


def test_a_device_publishes_on_its_own_up_topic_and_the_hub_receives_it(mqtt_client: ClientFactory) -> None:
    """SEC-17: the allowed path works end to end, through the hub's shared subscription."""
    hub = _hub(mqtt_client)
    ange = mqtt_client("ange")
    assert ange.publish(ANGE_UP, b"batch-1").value == 0
    message = hub.next_message()
    assert (message.topic, message.payload) == (ANGE_UP, b"batch-1")


def test_a_device_cannot_publish_as_another_device(mqtt_client: ClientFactory) -> None:
    """SEC-17: publishing under another device's up/ is refused (QoS 1: PUBACK 0x87) or dropped (QoS 0)."""
    hub = _hub(mqtt_client)
    ange = mqtt_client("ange")
    assert ange.publish(FOLLINGE_UP, b"forged-qos1", qos=1).value == NOT_AUTHORIZED
    ange.publish(FOLLINGE_UP, b"forged-qos0", qos=0)
    ange.publish(ANGE_UP, b"sentinel")
    assert hub.until(b"sentinel") == []


def test_a_device_cannot_write_to_the_shared_trees_or_to_down_topics(mqtt_client: ClientFactory) -> None:
    """SEC-17: only the hub announces sets, presence and acks."""
    ange = mqtt_client("ange")
    for topic in (
        topics.set_version("config"),
        topics.office_presence("ange"),
        topics.device_down("ange", topics.ACK),
        topics.device_down("follinge", topics.COMMAND),
    ):
        assert ange.publish(topic, b"forged").value == NOT_AUTHORIZED, topic


def test_a_device_cannot_receive_another_devices_down_messages(mqtt_client: ClientFactory) -> None:
    """SEC-17: even a wildcard subscription yields only the device's own down/ messages."""
    hub = mqtt_client("hub")
    ange = mqtt_client("ange")
    ange.subscribe(topics.device_down_subscription("follinge"))
    ange.subscribe("tinget/v1/kiosk/+/down/#")
    assert hub.publish(topics.device_down("follinge", topics.ACK), b"for-follinge").value == 0
    assert hub.publish(topics.device_down("ange", topics.ACK), b"sentinel").value == 0
    assert ange.until(b"sentinel") == []


def test_a_device_cannot_read_what_other_devices_send(mqtt_client: ClientFactory) -> None:
    """SEC-17: up/ topics are for the hub alone."""
    ange = mqtt_client("ange")
    follinge = mqtt_client("follinge")
    ange.subscribe("tinget/v1/kiosk/+/up/#")
    ange.subscribe("#")
    assert follinge.publish(FOLLINGE_UP, b"follinge-private").value == 0
    ange.barrier()
    assert ange.received() == []


def test_a_device_reads_its_own_down_topics_and_the_shared_sets_and_presence(
    mqtt_client: ClientFactory,
) -> None:
    """SEC-17: the reads a kiosk needs are all allowed, retained ones included."""
    hub = mqtt_client("hub")
    config, presence = topics.set_version("config"), topics.office_presence("ange")
    hub.client.publish(config, b"v7", qos=1, retain=True).wait_for_publish(5)
    hub.client.publish(presence, b"board", qos=1, retain=True).wait_for_publish(5)
    ange = mqtt_client("ange")
    ange.subscribe(topics.sets_subscription())
    ange.subscribe(topics.presence_subscription())
    ange.subscribe(topics.device_down_subscription("ange"))
    hub.publish(topics.device_down("ange", topics.COMMAND), b"resync")
    got = sorted([ange.next_message(), ange.next_message(), ange.next_message()], key=lambda m: m.topic)
    assert [(m.topic, m.payload) for m in got] == sorted(
        [(config, b"v7"), (presence, b"board"), (topics.device_down("ange", topics.COMMAND), b"resync")]
    )


def test_a_revoked_device_can_neither_send_nor_receive(mqtt_client: ClientFactory) -> None:
    """SEC-17: revoked-one still holds a certificate that chains to our CA, yet the ACL gives it nothing."""
    hub = _hub(mqtt_client)
    hub.client.publish(topics.set_version("config"), b"v7", qos=1, retain=True).wait_for_publish(5)
    revoked = mqtt_client("revoked-one")
    revoked.subscribe(topics.device_down_subscription("revoked-one"))
    revoked.subscribe(topics.sets_subscription())
    assert revoked.publish(topics.device_up("revoked-one", topics.ACTIONS), b"x").value == NOT_AUTHORIZED
    assert hub.publish(topics.device_down("revoked-one", topics.COMMAND), b"reload").value == 0
    revoked.barrier()
    assert revoked.received() == []
    mqtt_client("follinge").publish(FOLLINGE_UP, b"sentinel")
    assert hub.until(b"sentinel") == []


def test_revoking_a_connected_device_cuts_it_off_once_the_acl_is_regenerated_and_reloaded(
    pki: PkiLayout,
    tmp_path: Path,
    start_mosquitto: Callable[..., MosquittoBroker],
    mqtt_client: ClientFactory,
) -> None:
    """SEC-17: `revoke` + ACL regeneration + SIGHUP: the device loses every right, even still connected."""
    copy = tmp_path / "pki"
    shutil.copytree(pki.root, copy)
    broker = start_mosquitto(copy)
    hub = _hub(mqtt_client, broker)
    ange = mqtt_client("ange", broker)
    ange.subscribe(topics.device_down_subscription("ange"))
    assert ange.publish(ANGE_UP, b"before").value == 0
    assert hub.next_message().payload == b"before"
    hub.publish(topics.device_down("ange", topics.ACK), b"ack-before")
    assert ange.next_message().payload == b"ack-before"

    revoke_device(copy, "ange")
    broker.reload()

    assert ange.client.is_connected()
    assert ange.publish(ANGE_UP, b"after").value == NOT_AUTHORIZED
    mqtt_client("follinge", broker).publish(FOLLINGE_UP, b"sentinel")
    assert hub.until(b"sentinel") == []
    hub.publish(topics.device_down("ange", topics.ACK), b"ack-after")
    ange.barrier()
    assert ange.received() == []


def test_a_newly_enrolled_device_gets_its_rights_when_the_acl_is_regenerated(
    pki: PkiLayout,
    tmp_path: Path,
    start_mosquitto: Callable[..., MosquittoBroker],
    mqtt_client: ClientFactory,
) -> None:
    """SEC-17: the ACL, not the CA alone, decides: a valid certificate without an ACL block gets nothing."""
    copy = tmp_path / "pki"
    shutil.copytree(pki.root, copy)
    broker = start_mosquitto(copy)
    ensure_device(copy, "krokom")
    krokom_up = topics.device_up("krokom", topics.ACTIONS)
    krokom = mqtt_client("krokom", broker)
    assert krokom.publish(krokom_up, b"too-early").value == NOT_AUTHORIZED
    broker.reload()
    hub = _hub(mqtt_client, broker)
    assert krokom.publish(krokom_up, b"welcome").value == 0
    assert hub.next_message().payload == b"welcome"


def test_the_hub_ingest_workers_share_one_subscription(mqtt_client: ClientFactory) -> None:
    """Every message reaches exactly one ingest worker (MQTT v5 shared subscription `$share/ingest/...`)."""
    workers = [_hub(mqtt_client), _hub(mqtt_client)]
    ange = mqtt_client("ange")
    sent = [f"batch-{n}".encode() for n in range(8)]
    for payload in sent:
        ange.publish(ANGE_UP, payload)
    for worker in workers:
        worker.barrier()
    per_worker = [[payload for _topic, payload in worker.received()] for worker in workers]
    assert sorted(per_worker[0] + per_worker[1]) == sorted(sent)
    assert per_worker[0] and per_worker[1]
