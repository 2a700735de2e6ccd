"""End to end: the hub publishes its sets, the broker keeps the notices, the kiosk fetches from the real device API.

Everything is real: Mosquitto with the test PKI, ``tinget hub sets publish``, ``tinget hub device-api`` under
gunicorn with required client certificates, and the kiosk's `kiosk.replica` with ange's certificate.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from hub.db import make_engine as make_hub_engine
from hub.migrate import upgrade as upgrade_hub
from kiosk import replica
from kiosk.replica import FetchStatus
from kiosk.settings import KioskSettings, load_kiosk_settings
from kiosk.store import make_engine, upgrade
from protocol import topics
from protocol.messages import SetVersion, from_payload
from provisioning.pki import PkiLayout
from tests.hub.helpers import write_config
from tests.hub.test_hub_sets_device_api import DeviceApi, start_device_api
from tinget.cli import cli

pytestmark = [pytest.mark.broker]


@pytest.fixture
def published_hub(tmp_path: Path, pki: PkiLayout, mosquitto: Any) -> Iterator[DeviceApi]:
    """A hub (SQLite) whose sets are published through the broker, and its device API running."""
    folder = tmp_path / "hub"
    folder.mkdir()
    url = f"sqlite:///{folder / 'hub.db'}"
    engine = make_hub_engine(url)
    upgrade_hub(engine)
    engine.dispose()
    config = write_config(
        folder,
        database_url=url,
        mqtt_host=mosquitto.host,
        mqtt_port=mosquitto.port,
        mqtt_ca_file=mosquitto.ca_file,
        mqtt_cert_file=mosquitto.hub.cert_file,
        mqtt_key_file=mosquitto.hub.key_file,
        device_api_ca_file=pki.chain,
        device_api_revoked_file=pki.revoked_file,
    )
    result = CliRunner().invoke(cli, ["hub", "sets", "publish", "--config", str(config)])
    assert result.exit_code == 0, result.output
    api = start_device_api(folder, pki, url, pki.revoked_file)
    try:
        yield api
    finally:
        api.stop()


def _kiosk(tmp_path: Path, pki: PkiLayout, device: str, hub_url: str) -> tuple[KioskSettings, Engine]:
    credential = pki.device(device)
    settings = load_kiosk_settings(
        device_id=device,
        office_name="Änge",
        data_dir=tmp_path / device,
        hub_url=hub_url,
        mqtt_ca_file=pki.chain,
        mqtt_cert_file=credential.cert_file,
        mqtt_key_file=credential.key_file,
    )
    engine = make_engine(settings.database)
    upgrade(engine, device)
    return settings, engine


def _retained_notices(mqtt_client: Any, device: str) -> list[SetVersion]:
    client = mqtt_client(device)
    client.subscribe(topics.sets_subscription())
    return [from_payload(SetVersion, client.next_message().payload) for _ in topics.SET_NAMES]


def test_a_kiosk_that_connects_later_fetches_every_set_from_the_real_device_api(
    published_hub: DeviceApi, mqtt_client: Any, pki: PkiLayout, tmp_path: Path
) -> None:
    """The retained notices arrive at ange, each fetch passes mTLS and the hash check, and the copies are the hub's."""
    settings, engine = _kiosk(tmp_path, pki, "ange", published_hub.url)
    try:
        results = [
            replica.on_set_version(engine, settings, notice) for notice in _retained_notices(mqtt_client, "ange")
        ]
        assert {(r.name, r.status, r.version) for r in results} == {
            (name, FetchStatus.UPDATED, 1) for name in topics.SET_NAMES
        }
        config = replica.current(engine, "config")
        trust = replica.current(engine, "trust")
        assert config is not None and config.content["languages"] == ["sv", "en"]
        assert trust is not None and trust.content["revoked_devices"] == ["revoked-one"]
        assert "".join(trust.content["ca_chain"]) == pki.chain.read_text(encoding="ascii")
        assert {r.status for r in replica.resync(engine, settings)} == {FetchStatus.UPDATED}
    finally:
        engine.dispose()


def test_a_revoked_kiosk_is_refused_by_the_device_api_and_stores_nothing(
    published_hub: DeviceApi, mqtt_client: Any, pki: PkiLayout, tmp_path: Path
) -> None:
    """The broker already shuts revoked-one out; should it learn a notice anyway, the device API says 403 (SEC-17)."""
    notice = _retained_notices(mqtt_client, "ange")[0]
    settings, engine = _kiosk(tmp_path, pki, "revoked-one", published_hub.url)
    try:
        result = replica.on_set_version(engine, settings, notice)
        assert result.status is FetchStatus.REFUSED and "answered 403" in result.detail
        assert replica.current(engine, notice.name) is None
    finally:
        engine.dispose()
