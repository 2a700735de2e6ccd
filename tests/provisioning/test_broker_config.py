"""The generated Mosquitto configuration and ACL, read as text (the broker tests run them for real)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from protocol import topics
from provisioning.broker import (
    BrokerSettings,
    read_pid_file,
    reload_broker,
    render_acl,
    write_acl,
    write_broker_config,
)
from provisioning.pki import PkiError, PkiLayout


def _directives(conf: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in conf.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition(" ")
            found.setdefault(name, []).append(value)
    return found


def _blocks(acl: str) -> dict[str, list[str]]:
    blocks: dict[str, list[str]] = {}
    current = ""
    for line in acl.splitlines():
        if line.startswith("user "):
            current = line.removeprefix("user ")
            blocks[current] = []
        elif line and not line.startswith("#"):
            blocks.setdefault(current, []).append(line)
    return blocks


def test_the_broker_listens_with_tls_only_and_requires_a_client_certificate(pki: PkiLayout, tmp_path: Path) -> None:
    """SEC-17: no anonymous clients; the certificate's CN is the identity the ACL sees."""
    files = write_broker_config(pki.root, tmp_path, BrokerSettings(port=18883, bind_address="127.0.0.1"))
    conf = _directives(files.conf)
    assert conf["listener"] == ["18883 127.0.0.1"]
    assert conf["cafile"] == [str(pki.chain.resolve())]
    assert conf["certfile"] == [str(pki.broker.cert_file.resolve())]
    assert conf["keyfile"] == [str(pki.broker.key_file.resolve())]
    assert conf["require_certificate"] == ["true"]
    assert conf["use_identity_as_username"] == ["true"]
    assert conf["allow_anonymous"] == ["false"]
    assert conf["acl_file"] == [str(files.acl.resolve())]
    assert conf["tls_version"] == ["tlsv1.2"]
    assert conf["persistence"] == ["true"]
    assert conf["persistence_location"] == [f"{(tmp_path / 'data').resolve()}/"]
    assert int(conf["max_queued_messages"][0]) > 1000
    assert conf["log_dest"] == ["stderr"]
    assert "password_file" not in conf and "psk_file" not in conf
    assert len(conf["listener"]) == 1  # no plain-text listener next to it


def test_the_queue_limit_carries_a_comment_on_its_own_line(pki: PkiLayout, tmp_path: Path) -> None:
    lines = write_broker_config(pki.root, tmp_path, BrokerSettings()).conf.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("max_queued_messages"))
    assert lines[index - 1].startswith("# ")
    assert all("#" not in line for line in lines if not line.startswith("#"))  # Mosquitto has no trailing comments


def test_log_file_persistence_dir_user_and_a_credential_key_path_can_be_chosen(pki: PkiLayout, tmp_path: Path) -> None:
    settings = BrokerSettings(
        log_file=tmp_path / "broker.log",
        persistence_dir=tmp_path / "state",
        run_as_user="mosquitto",
        key_file=Path("/run/credentials/tinget-mosquitto.service/broker-key"),
    )
    conf = _directives(write_broker_config(pki.root, tmp_path / "out", settings).conf)
    assert conf["log_dest"] == [f"file {(tmp_path / 'broker.log').resolve()}"]
    assert conf["persistence_location"] == [f"{(tmp_path / 'state').resolve()}/"]
    assert conf["user"] == ["mosquitto"]
    assert conf["keyfile"] == ["/run/credentials/tinget-mosquitto.service/broker-key"]


def test_the_acl_gives_the_hub_its_rights_and_each_active_device_only_its_own(pki: PkiLayout, tmp_path: Path) -> None:
    """SEC-17: explicit blocks per device; no `pattern` line, which would apply to revoked devices too."""
    acl = write_broker_config(pki.root, tmp_path, BrokerSettings()).acl.read_text()
    blocks = _blocks(acl)
    assert blocks.pop("", []) == []  # nothing for clients without a user name
    assert blocks["hub"] == [
        "topic read tinget/v1/kiosk/+/up/#",
        "topic write tinget/v1/kiosk/+/down/#",
        "topic readwrite tinget/v1/sets/#",
        "topic readwrite tinget/v1/office/#",
    ]
    assert blocks["ange"] == [
        "topic write tinget/v1/kiosk/ange/up/#",
        "topic read tinget/v1/kiosk/ange/down/#",
        "topic read tinget/v1/sets/#",
        "topic read tinget/v1/office/#",
    ]
    assert sorted(blocks) == ["ange", "follinge", "hub"]
    rules = [line for line in acl.splitlines() if line and not line.startswith("#")]
    assert not [line for line in rules if line.startswith("pattern") or "%" in line]


def test_the_acl_follows_the_topic_tree_of_the_protocol(pki: PkiLayout) -> None:
    acl = render_acl(["ange"])
    assert f"topic write {topics.device_up('ange', topics.ACTIONS).rsplit('/', 1)[0]}/#" in acl
    assert f"topic read {topics.device_down('ange', topics.ACK).rsplit('/', 1)[0]}/#" in acl


def test_a_revoked_device_is_named_only_in_a_comment(pki: PkiLayout, tmp_path: Path) -> None:
    acl_path = tmp_path / "acl"
    assert write_acl(pki.root, acl_path) == ["ange", "follinge"]
    lines = acl_path.read_text().splitlines()
    assert [line for line in lines if "revoked-one" in line] == [
        "# Revoked, so left out (nothing allowed): revoked-one"
    ]


@pytest.mark.parametrize("device_id", ["hub", "a+b", "x/#", "%u"])
def test_an_acl_is_never_rendered_for_an_id_that_could_widen_rights(device_id: str) -> None:
    with pytest.raises(PkiError):
        render_acl([device_id])


def test_broker_config_needs_the_pki_first(tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="tinget provision pki"):
        write_broker_config(tmp_path / "none", tmp_path / "out", BrokerSettings())
    assert not (tmp_path / "out").exists()


def test_reload_sends_sighup_to_the_pid_in_the_pid_file(tmp_path: Path) -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        pid_file = tmp_path / "mosquitto.pid"
        pid_file.write_text(f"{child.pid}\n")
        reload_broker(read_pid_file(pid_file))
        assert child.wait(timeout=5) == -signal.SIGHUP
    finally:
        child.kill()
        child.wait()


def test_reloading_a_broker_that_is_not_running_says_so(tmp_path: Path) -> None:
    child = subprocess.Popen(["true"])
    child.wait()
    with pytest.raises(PkiError, match="no broker process"):
        reload_broker(child.pid)
    (tmp_path / "pid").write_text("not a pid")
    with pytest.raises(PkiError, match="cannot read a process id"):
        read_pid_file(tmp_path / "pid")


@pytest.mark.parametrize("pid", [0, -1, 1])
def test_a_reload_never_signals_a_process_group_or_init(pid):
    """A pid file holding 0 (or less, or 1) must not turn `revoke --pid-file` into a signal to our own group."""
    from provisioning.broker import reload_broker
    from provisioning.pki import PkiError

    with pytest.raises(PkiError, match="refusing to signal"):
        reload_broker(pid)
