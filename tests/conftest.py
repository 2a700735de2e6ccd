"""Shared fixtures for the whole suite. Light: nothing is imported, read or started until a fixture runs.

PKI and broker (see tests/support/):
- ``pki`` (session): a `provisioning.pki.PkiLayout` in a temp dir with root + issuing CA, broker and hub
  certificates, and devices ``ange``, ``follinge`` and ``revoked-one`` (revoked).
- ``foreign_pki`` (session): another CA's `PkiLayout`, with its own hub client and device ``ange``.
- ``mosquitto``: a started `tests.support.mosquitto.MosquittoBroker` on a free port for ``pki``; killed
  at teardown.
- ``start_mosquitto``: factory ``start_mosquitto(pki_dir=None)`` for more brokers (or one on a PKI copy).
- ``mqtt_client``: factory ``mqtt_client(identity, broker=None, client_id=None, **make_client_options)``
  giving a connected `tests.support.clients.MqttTestClient` as ``hub`` or a device id; closed at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from provisioning.pki import PkiLayout
    from tests.support.clients import MqttTestClient
    from tests.support.mosquitto import MosquittoBroker

DEMO_DEVICES = ("ange", "follinge", "revoked-one")
REVOKED_DEVICE = "revoked-one"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PkiLayout:
    """A complete test PKI: CAs, broker, hub, devices ange and follinge, and revoked-one (revoked)."""
    from provisioning.pki import PkiLayout, ensure_device, ensure_pki, revoke_device

    root = tmp_path_factory.mktemp("pki")
    ensure_pki(root)
    for device in DEMO_DEVICES:
        ensure_device(root, device)
    revoke_device(root, REVOKED_DEVICE)
    return PkiLayout(root)


@pytest.fixture(scope="session")
def foreign_pki(tmp_path_factory: pytest.TempPathFactory) -> PkiLayout:
    """A second, unrelated CA (an attacker's) with a hub client certificate and a device ``ange``."""
    from provisioning.pki import PkiLayout, ensure_device, ensure_pki

    root = tmp_path_factory.mktemp("foreign-pki")
    ensure_pki(root)
    ensure_device(root, "ange")
    return PkiLayout(root)


@pytest.fixture
def start_mosquitto(pki: PkiLayout, tmp_path: Path) -> Iterator[Callable[..., MosquittoBroker]]:
    """Factory for started brokers (default: on ``pki``); every one is killed at teardown."""
    from tests.support.mosquitto import MosquittoBroker

    brokers: list[MosquittoBroker] = []

    def start(pki_dir: Path | None = None) -> MosquittoBroker:
        broker = MosquittoBroker(pki_dir or pki.root, tmp_path / f"mosquitto-{len(brokers)}")
        brokers.append(broker)
        return broker.start()

    try:
        yield start
    finally:
        for broker in brokers:
            broker.kill()


@pytest.fixture
def mosquitto(start_mosquitto: Callable[..., MosquittoBroker]) -> MosquittoBroker:
    """A real Mosquitto on a free port, TLS with client certificates and the ACL generated from ``pki``."""
    return start_mosquitto()


@pytest.fixture
def mqtt_client(mosquitto: MosquittoBroker) -> Iterator[Callable[..., MqttTestClient]]:
    """Factory for connected test clients (``hub`` or a device id), closed at teardown before the brokers."""
    from tests.support.clients import MqttTestClient, build_client

    clients: list[MqttTestClient] = []

    def connect(
        identity: str, broker: MosquittoBroker | None = None, client_id: str | None = None, **options: Any
    ) -> MqttTestClient:
        broker = broker or mosquitto
        credential = broker.hub if identity == "hub" else broker.device(identity)
        client_id = client_id or f"{identity}-{len(clients)}"
        paho_client = build_client(
            client_id, credential, ca_file=broker.ca_file, host=broker.host, port=broker.port, **options
        )
        test_client = MqttTestClient(paho_client, client_id)
        clients.append(test_client)
        return test_client.connect()

    try:
        yield connect
    finally:
        for test_client in clients:
            test_client.close()


@pytest.fixture(scope="session")
def private_pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A private pcscd with two virtual readers (vpcd) for the whole session; this process's PC/SC calls go to it.

    libpcsclite reads ``PCSCLITE_CSOCK_NAME`` once per process, so it is set here, before any test talks PC/SC.
    """
    import os

    from tests.support.pcsc import PcscdProcess
    from tinget.pcscd import SOCKET_ENV

    process = PcscdProcess(tmp_path_factory.mktemp("pcscd")).start()
    previous = os.environ.get(SOCKET_ENV)
    os.environ[SOCKET_ENV] = str(process.pcscd.socket_path)
    try:
        yield process
    finally:
        process.stop()
        if previous is None:
            os.environ.pop(SOCKET_ENV, None)
        else:
            os.environ[SOCKET_ENV] = previous


@pytest.fixture(scope="session")
def eid_issuer(tmp_path_factory: pytest.TempPathFactory):
    """A test e-ID issuer with cards anna, rut (RSA), staff, revoked, expired and foreign (tests/support/eid.py)."""
    from tests.support.eid import make_issuer

    return make_issuer(tmp_path_factory.mktemp("eid"))
