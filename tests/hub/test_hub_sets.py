"""Replicated sets on the hub: built, versioned only on change, audited, and announced retained over MQTT."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from hub.audit import log as audit_log
from hub.audit.models import AuditEntryRow
from hub.db import make_engine, make_session_factory, unit_of_work
from hub.sets import announce as announcer
from hub.sets.models import SetVersionRow
from hub.sets.publication import current_versions, find_version
from hub.sets.service import publish_sets
from hub.sets.trust import TrustError
from hub.settings import HubSettings
from protocol import codec, topics
from protocol.messages import HUB_SENDER, SetVersion, from_payload
from provisioning.pki import PkiLayout
from tests.hub.helpers import write_config
from tinget.cli import cli


@pytest.fixture
def sets_settings(settings: HubSettings, pki: PkiLayout, tmp_path: Path) -> HubSettings:
    """Hub settings with the device API's CA chain and a revocation list of the test's own (revoked-one)."""
    revoked = tmp_path / "revoked.json"
    revoked.write_bytes(pki.revoked_file.read_bytes())
    return dataclasses.replace(settings, device_api_ca_file=pki.chain, device_api_revoked_file=revoked)


def _publish(settings: HubSettings, **options: Any) -> dict[str, tuple[int, bool]]:
    engine = make_engine(settings.database_url)
    try:
        published = publish_sets(settings, engine, actor="test", announce=False, **options)
    finally:
        engine.dispose()
    return {item.name: (item.version, item.changed) for item in published}


def _rows(settings: HubSettings) -> list[SetVersionRow]:
    engine = make_engine(settings.database_url)
    with unit_of_work(make_session_factory(engine), write=False) as session:
        rows = list(session.scalars(select(SetVersionRow).order_by(SetVersionRow.name, SetVersionRow.version)))
    engine.dispose()
    return rows


def _revoke(settings: HubSettings, *devices: str) -> None:
    assert settings.device_api_revoked_file is not None
    entries = [{"device": device, "revoked_at": "2026-01-01T00:00:00+00:00"} for device in devices]
    settings.device_api_revoked_file.write_text(json.dumps({"version": 1, "revoked": entries}), encoding="utf-8")


def test_every_set_starts_at_version_1_and_publishing_again_without_a_change_adds_nothing(
    sets_settings: HubSettings,
) -> None:
    """The first run stores all six sets at version 1; an unchanged second run stores nothing new."""
    assert _publish(sets_settings) == {name: (1, True) for name in topics.SET_NAMES}
    assert _publish(sets_settings) == {name: (1, False) for name in topics.SET_NAMES}
    assert len(_rows(sets_settings)) == len(topics.SET_NAMES)


def test_a_changed_set_gets_the_next_version_and_the_old_one_stays_fetchable(sets_settings: HubSettings) -> None:
    """Revoking a device changes only the trust set: it becomes version 2, and version 1 is still served."""
    _publish(sets_settings)
    _revoke(sets_settings, "revoked-one", "follinge")
    after = _publish(sets_settings)
    assert after.pop("trust") == (2, True)
    assert set(after.values()) == {(1, False)}
    engine = make_engine(sets_settings.database_url)
    with unit_of_work(make_session_factory(engine), write=False) as session:
        first, second = find_version(session, "trust", 1), find_version(session, "trust", 2)
        newest = {row.name: row.version for row in current_versions(session)}
        assert find_version(session, "trust") == second and find_version(session, "trust", 3) is None
    engine.dispose()
    assert first is not None and second is not None
    assert codec.decode(first.body, max_size=10**6)["content"]["revoked_devices"] == ["revoked-one"]
    assert codec.decode(second.body, max_size=10**6)["content"]["revoked_devices"] == ["follinge", "revoked-one"]
    assert newest == {**{name: 1 for name in topics.SET_NAMES}, "trust": 2}


def test_each_new_version_is_in_the_audit_log_with_its_hash(sets_settings: HubSettings) -> None:
    """Every stored version has one audit entry (SEC-16), unchanged runs add none, and the chain still verifies."""
    _publish(sets_settings)
    _publish(sets_settings)
    _revoke(sets_settings, "follinge")
    _publish(sets_settings)
    engine = make_engine(sets_settings.database_url)
    with unit_of_work(make_session_factory(engine), write=False) as session:
        entries = list(session.scalars(select(AuditEntryRow).where(AuditEntryRow.action == "set.published")))
        report = audit_log.verify_chain(session)
    engine.dispose()
    assert len(entries) == len(topics.SET_NAMES) + 1 and report.ok
    trust = [json.loads(entry.details) for entry in entries if entry.subject == "trust"]
    assert [details["version"] for details in trust] == [1, 2]
    stored = {(row.name, row.version): row.sha256 for row in _rows(sets_settings)}
    assert trust[1]["sha256"] == stored[("trust", 2)]


def test_a_set_body_is_canonical_json_whose_sha256_is_stored_beside_it(sets_settings: HubSettings) -> None:
    """The stored hash is of the exact bytes served, and the bytes are the canonical encoding of the set."""
    _publish(sets_settings)
    for row in _rows(sets_settings):
        assert hashlib.sha256(row.body).hexdigest() == row.sha256
        document = codec.decode(row.body, max_size=10**6)  # canonical=True: refuses anything else
        assert document["set"] == row.name and document["schema"] == 1 and isinstance(document["content"], dict)


def test_the_trust_set_carries_the_ca_chain_and_the_revoked_device_ids(
    sets_settings: HubSettings, pki: PkiLayout
) -> None:
    """The CA chain as separate PEM certificates (issuing, root) and the ids from revoked.json."""
    _publish(sets_settings)
    trust = next(row for row in _rows(sets_settings) if row.name == "trust")
    content = codec.decode(trust.body, max_size=10**6)["content"]
    assert len(content["ca_chain"]) == 2
    assert "".join(content["ca_chain"]) == pki.chain.read_text(encoding="ascii")
    assert content["revoked_devices"] == ["revoked-one"]


def test_an_unreadable_revocation_list_stops_the_publication_and_stores_nothing(sets_settings: HubSettings) -> None:
    """A broken revoked.json must not publish a trust set that forgets revocations."""
    assert sets_settings.device_api_revoked_file is not None
    sets_settings.device_api_revoked_file.write_text("{not json", encoding="utf-8")
    with pytest.raises(TrustError, match="revocation list"):
        _publish(sets_settings)
    assert _rows(sets_settings) == []


@pytest.mark.broker
def test_the_retained_set_versions_reach_a_kiosk_that_connects_later(
    sets_settings: HubSettings, mosquitto: Any, mqtt_client: Any, tmp_path: Path
) -> None:
    """`tinget hub sets publish` announces every set retained; ange, connecting afterwards, gets all six."""
    config = write_config(
        tmp_path,
        database_url=sets_settings.database_url,
        mqtt_host=mosquitto.host,
        mqtt_port=mosquitto.port,
        mqtt_ca_file=mosquitto.ca_file,
        mqtt_cert_file=mosquitto.hub.cert_file,
        mqtt_key_file=mosquitto.hub.key_file,
        device_api_ca_file=sets_settings.device_api_ca_file,
        device_api_revoked_file=sets_settings.device_api_revoked_file,
    )
    result = CliRunner().invoke(cli, ["hub", "sets", "publish", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "trust: version 1 (ny version)" in result.output and "behållna" in result.output
    again = CliRunner().invoke(cli, ["hub", "sets", "publish", "--config", str(config)])
    assert again.exit_code == 0 and "trust: version 1 (oförändrad)" in again.output

    kiosk = mqtt_client("ange")
    kiosk.subscribe(topics.sets_subscription())
    notices: dict[str, SetVersion] = {}
    for _ in topics.SET_NAMES:
        message = kiosk.next_message()
        assert message.retain, "a set notice must be retained"
        notice = from_payload(SetVersion, message.payload)
        assert topics.parse_set_version(message.topic) == notice.name and notice.sender == HUB_SENDER
        notices[notice.name] = notice
    stored = {row.name: row for row in _rows(sets_settings)}
    assert set(notices) == set(topics.SET_NAMES)
    for name, notice in notices.items():
        assert (notice.version, notice.sha256) == (stored[name].version, stored[name].sha256)
        assert notice.url == f"/device/v1/sets/{name}?version={notice.version}"


def test_a_broker_that_does_not_answer_leaves_the_versions_stored_and_says_so(
    sets_settings: HubSettings, pki: PkiLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The versions are committed before announcing; the command fails with one line and can simply be rerun."""
    monkeypatch.setattr(announcer, "ANNOUNCE_TIMEOUT_SECONDS", 0.5)
    config = write_config(
        tmp_path,
        database_url=sets_settings.database_url,
        mqtt_ca_file=pki.chain,
        mqtt_cert_file=pki.hub_client.cert_file,
        mqtt_key_file=pki.hub_client.key_file,
    )
    result = CliRunner().invoke(cli, ["hub", "sets", "publish", "--config", str(config)])
    assert result.exit_code == 1
    assert result.output.startswith("tinget: the new versions are stored, but not announced: the broker")
    assert len(result.output.strip().splitlines()) == 1
    assert len(_rows(sets_settings)) == len(topics.SET_NAMES)


def test_publishing_without_the_hubs_mqtt_certificate_is_a_configuration_error(
    sets_settings: HubSettings, tmp_path: Path
) -> None:
    """No client certificate configured: exit 2 naming the settings, nothing stored; --no-announce stores."""
    config = write_config(tmp_path, database_url=sets_settings.database_url)
    result = CliRunner().invoke(cli, ["hub", "sets", "publish", "--config", str(config)])
    assert result.exit_code == 2 and "mqtt_cert_file" in result.output
    assert _rows(sets_settings) == []
    stored = CliRunner().invoke(cli, ["hub", "sets", "publish", "--no-announce", "--config", str(config)])
    assert stored.exit_code == 0 and "behållna" not in stored.output
    engine = make_engine(sets_settings.database_url)
    with unit_of_work(make_session_factory(engine), write=False) as session:
        count = session.scalar(select(func.count()).select_from(SetVersionRow))
    engine.dispose()
    assert count == len(topics.SET_NAMES)
