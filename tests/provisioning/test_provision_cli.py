"""`tinget provision`: what IT types, what it prints, and that a failure is one clear line."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from protocol import topics
from provisioning.pki import PkiLayout, revoked_devices
from tests.support.clients import NOT_AUTHORIZED, MqttTestClient
from tests.support.mosquitto import MosquittoBroker
from tinget.cli import cli


def _run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, ["provision", *map(str, args)])


def _refused(result: Result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert f"Error: {message}" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_provision_lists_its_commands() -> None:
    result = _run("--help")
    assert result.exit_code == 0
    for command in ("pki", "device", "revoke", "broker-config"):
        assert command in result.output


def test_pki_creates_the_authority_once_and_then_reports_it_as_reused(tmp_path: Path) -> None:
    first = _run("pki", "--dir", tmp_path, "--hostname", "tinget.krokom.se")
    assert first.exit_code == 0, first.output
    assert first.output.count("created") == 5
    assert f"CA file for clients and broker: {tmp_path / 'ca' / 'chain.pem'}" in first.output
    second = _run("pki", "--dir", tmp_path, "--hostname", "tinget.krokom.se")
    assert second.exit_code == 0, second.output
    assert second.output.count("reused") == 5 and "created" not in second.output


def test_device_issues_a_certificate_with_the_requested_lifetime(tmp_path: Path) -> None:
    _run("pki", "--dir", tmp_path)
    result = _run("device", "ange", "--dir", tmp_path, "--days", "7")
    assert result.exit_code == 0, result.output
    assert "created  device ange" in result.output
    assert PkiLayout(tmp_path).device("ange").key_file.exists()
    again = _run("device", "ange", "--dir", tmp_path)
    assert "reused" in again.output and "--renew" in again.output
    assert "renewed" in _run("device", "ange", "--dir", tmp_path, "--renew").output


def test_mistakes_get_one_line_that_says_what_to_do(tmp_path: Path) -> None:
    _refused(_run("device", "ange", "--dir", tmp_path), f"no issuing CA in {tmp_path}; run `tinget provision pki")
    _refused(
        _run("broker-config", "--dir", tmp_path, "--out", tmp_path / "b"),
        f"{tmp_path}/ca/chain.pem is missing",
    )
    _run("pki", "--dir", tmp_path)
    _refused(_run("device", "Änge", "--dir", tmp_path), "invalid device id 'Änge'")
    _refused(_run("device", "hub", "--dir", tmp_path), "device id 'hub' is reserved")
    _refused(_run("revoke", "follnge", "--dir", tmp_path), "device 'follnge' is not enrolled")
    assert _run("device", "ange", "--dir", tmp_path, "--days", "0").exit_code == 2  # click's own usage error


def test_broker_config_writes_the_config_and_the_acl(pki: PkiLayout, tmp_path: Path) -> None:
    result = _run("broker-config", "--dir", pki.root, "--port", "18883", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert "listener 18883 127.0.0.1" in (tmp_path / "mosquitto.conf").read_text()
    assert "user follinge" in (tmp_path / "acl").read_text()
    assert "devices: ange, follinge" in result.output


def test_revoke_without_a_broker_says_the_acl_still_needs_regenerating(pki: PkiLayout, tmp_path: Path) -> None:
    copy = tmp_path / "pki"
    shutil.copytree(pki.root, copy)
    result = _run("revoke", "ange", "--dir", copy)
    assert result.exit_code == 0, result.output
    assert "revoked  device ange" in result.output and "regenerate the broker ACL" in result.output
    assert "already revoked" in _run("revoke", "ange", "--dir", copy).output
    assert "ange" in revoked_devices(copy)


@pytest.mark.broker
def test_revoke_with_the_broker_dir_and_pid_file_cuts_the_device_off_at_once(
    pki: PkiLayout,
    tmp_path: Path,
    start_mosquitto: Callable[..., MosquittoBroker],
    mqtt_client: Callable[..., MqttTestClient],
) -> None:
    """SEC-17: the documented IT procedure for a lost kiosk, end to end with the real broker."""
    copy = tmp_path / "pki"
    shutil.copytree(pki.root, copy)
    broker = start_mosquitto(copy)
    ange = mqtt_client("ange", broker)
    up = topics.device_up("ange", topics.ACTIONS)
    assert not ange.publish(up, b"before").is_failure
    pid_file = tmp_path / "mosquitto.pid"
    pid_file.write_text(f"{broker.pid}\n")
    before = broker.reload_count()

    result = _run("revoke", "ange", "--dir", copy, "--broker-dir", broker.conf_dir, "--pid-file", pid_file)

    assert result.exit_code == 0, result.output
    assert f"broker (pid {broker.pid}) reloaded" in result.output
    broker.wait_reloaded(before)
    assert ange.publish(up, b"after").value == NOT_AUTHORIZED
