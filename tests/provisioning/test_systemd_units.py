"""The systemd units in systemd/: least privilege, secrets as credentials, and systemd itself accepts them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNITS_DIR = REPO / "systemd"
UNITS = sorted(UNITS_DIR.glob("*.service"))
INSTALLED_TINGET = "/opt/tinget/venv/bin/tinget"
DEV_TINGET = REPO / ".venv" / "bin" / "tinget"
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "CapabilityBoundingSet": "",
    "Restart": "on-failure",
}
COMMANDS = {
    "tinget-hub-web.service": "hub serve",
    "tinget-hub-crl-refresh.service": "hub sets refresh-crls",
    "tinget-hub-poll-close.service": "hub poll close-due",
    "tinget-hub-device-api.service": "hub device-api",
    "tinget-hub-ingest.service": "hub ingest",
    "tinget-kiosk-ui.service": "kiosk serve",
    "tinget-kiosk-sync.service": "kiosk sync",
}


def _parse(unit: Path) -> dict[str, list[tuple[str, str]]]:
    """Sections → (key, value) in order; systemd allows a key more than once, so no configparser."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for raw in unit.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"{unit.name}: {line!r} outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"{unit.name}: {line!r} is not key=value"
        current.append((key, value))
    return sections


def _values(unit: Path, key: str) -> list[str]:
    return [value for name, value in _parse(unit).get("Service", []) if name == key]


def test_all_eight_units_are_there() -> None:
    assert [unit.name for unit in UNITS] == [
        "tinget-hub-crl-refresh.service",
        "tinget-hub-device-api.service",
        "tinget-hub-ingest.service",
        "tinget-hub-poll-close.service",
        "tinget-hub-web.service",
        "tinget-kiosk-sync.service",
        "tinget-kiosk-ui.service",
        "tinget-mosquitto.service",
    ]


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_every_unit_runs_unprivileged_in_a_sandbox(unit: Path) -> None:
    """SEC-20 and least privilege: no root, no capabilities, a read-only system, a filtered syscall set."""
    for key, expected in HARDENING.items():
        assert _values(unit, key) == [expected], f"{unit.name}: {key}"
    assert _values(unit, "User") and _values(unit, "User") != ["root"]
    assert _values(unit, "StateDirectory")
    assert "@system-service" in _values(unit, "SystemCallFilter")
    families = " ".join(_values(unit, "RestrictAddressFamilies")).split()
    assert set(families) <= {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert _values(unit, "AmbientCapabilities") == [""]


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_secrets_reach_services_as_credentials_never_as_values(unit: Path) -> None:
    """SEC-20: keys are LoadCredential= files; the environment only names them (``%d`` = credentials dir)."""
    credentials = _values(unit, "LoadCredential")
    assert credentials, unit.name
    for credential in credentials:
        _name, _, source = credential.partition(":")
        assert source.startswith("/etc/tinget/")
    for assignment in _values(unit, "Environment"):
        name, _, value = assignment.partition("=")
        if any(word in name for word in ("KEY", "SECRET", "PASSWORD", "TOKEN")):
            assert name.endswith("_FILE") and value.startswith("%d/"), assignment


@pytest.mark.parametrize("unit", [u for u in UNITS if u.name in COMMANDS], ids=lambda unit: unit.name)
def test_tinget_units_run_their_command_with_their_config_file(unit: Path) -> None:
    role = unit.name.split("-")[1]
    assert _values(unit, "ExecStart") == [f"{INSTALLED_TINGET} {COMMANDS[unit.name]}"]
    assert f"TINGET_{role.upper()}_CONFIG=/etc/tinget/{role}.toml" in _values(unit, "Environment")
    assert _values(unit, "WorkingDirectory") == [f"%S/{_values(unit, 'StateDirectory')[0]}"]


def test_the_broker_unit_reloads_with_sighup_and_reads_its_key_as_a_credential() -> None:
    unit = UNITS_DIR / "tinget-mosquitto.service"
    assert _values(unit, "ExecReload") == ["/bin/kill -HUP $MAINPID"]
    assert _values(unit, "LoadCredential") == ["broker-key:/etc/tinget/pki/broker/server.key"]
    assert "--key-file /run/credentials/tinget-mosquitto.service/broker-key" in unit.read_text()


def test_the_polkit_rule_lets_exactly_the_kiosk_user_reach_pcscd() -> None:
    rule = (UNITS_DIR / "polkit" / "49-tinget-pcscd.rules").read_text()
    kiosk_users = {_values(UNITS_DIR / name, "User")[0] for name in COMMANDS if "kiosk" in name}
    assert kiosk_users == {"tinget-kiosk"}
    assert 'subject.user == "tinget-kiosk"' in rule
    assert '"org.debian.pcsc-lite.access_pcsc"' in rule and '"org.debian.pcsc-lite.access_card"' in rule


def test_sysusers_creates_every_service_user_but_mosquitto() -> None:
    lines = (UNITS_DIR / "sysusers.d" / "tinget.conf").read_text().splitlines()
    created = {line.split()[1] for line in lines if line.startswith("u ")}
    users = {_values(unit, "User")[0] for unit in UNITS}
    assert users - created == {"mosquitto"}  # Debian's mosquitto package creates that one


def test_the_revocation_lists_are_refreshed_by_a_timer() -> None:
    timer = _parse(UNITS_DIR / "tinget-hub-crl-refresh.timer")
    assert ("OnUnitActiveSec", "1h") in timer["Timer"] and ("Persistent", "true") in timer["Timer"]
    assert _values(UNITS_DIR / "tinget-hub-crl-refresh.service", "Type") == ["oneshot"]


def test_polls_are_closed_by_a_timer_every_minute() -> None:
    timer = _parse(UNITS_DIR / "tinget-hub-poll-close.timer")
    assert ("OnCalendar", "*-*-* *:*:00") in timer["Timer"] and ("Persistent", "true") in timer["Timer"]
    assert _values(UNITS_DIR / "tinget-hub-poll-close.service", "Type") == ["oneshot"]


def _dev_copies(tmp_path: Path, *, timers: bool = False) -> list[Path]:
    """The units with the installed tinget path pointed at this checkout's (verify checks it exists)."""
    copies = []
    for unit in [*UNITS, *(sorted(UNITS_DIR.glob("*.timer")) if timers else [])]:
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text().replace(INSTALLED_TINGET, str(DEV_TINGET)))
        copies.append(copy)
    return copies


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_every_unit_without_a_warning(tmp_path: Path) -> None:
    if not DEV_TINGET.exists():
        pytest.skip(f"{DEV_TINGET} is missing (run scripts/setup.sh)")
    result = subprocess.run(
        ["systemd-analyze", "verify", *map(str, _dev_copies(tmp_path, timers=True))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr.strip()) == (0, "")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_rates_every_unit_well_exposed_below_2_of_10(tmp_path: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--threshold=20", *map(str, _dev_copies(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
