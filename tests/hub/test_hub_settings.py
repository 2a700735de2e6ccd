"""Hub settings: defaults, files, environment, and the secret key rule (SEC-20)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hub.settings import HubSettings, derive_key, load_hub_settings, secret_key
from protocol.settings import ConfigError


def test_the_defaults_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite under var/hub, web on 8000, broker on 8883, five tries and five minutes."""
    monkeypatch.delenv("TINGET_HUB_CONFIG", raising=False)
    settings = load_hub_settings()
    assert settings.database_url == "sqlite:///var/hub/hub.db"
    assert settings.secret_key_file == Path("var/hub/secret_key")
    assert (settings.web_port, settings.mqtt_host, settings.mqtt_port) == (8000, "127.0.0.1", 8883)
    assert (settings.signin_max_failures, settings.signin_lockout_seconds, settings.demo_mode) == (5, 300, False)


def test_a_file_with_tables_and_the_environment_fill_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """[mqtt] host in the file is mqtt_host; TINGET_* overrides the file."""
    config = tmp_path / "hub.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[mqtt]\nhost = "broker.kommun.se"\nport = 8884\n', encoding="utf-8")
    monkeypatch.setenv("TINGET_HUB_CONFIG", str(config))
    monkeypatch.setenv("TINGET_MQTT_PORT", "9999")
    settings = load_hub_settings()
    assert (settings.mqtt_host, settings.mqtt_port) == ("broker.kommun.se", 9999)
    assert settings.secret_key_file == tmp_path / "secret_key"


def test_production_refuses_to_start_without_a_secret_key_file(tmp_path: Path) -> None:
    """SEC-20: no insecure default; the message says how to make the file."""
    settings = HubSettings(data_dir=tmp_path)
    with pytest.raises(ConfigError, match="does not exist; create it with"):
        secret_key(settings)


def test_a_secret_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    """SEC-20: secrets are files with tight permissions."""
    key = tmp_path / "secret_key"
    key.write_text("abc\n")
    key.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        secret_key(HubSettings(data_dir=tmp_path))


def test_demo_mode_creates_a_private_secret_key_once(tmp_path: Path) -> None:
    """The demo makes its own 0600 key on first run and reuses it."""
    settings = HubSettings(data_dir=tmp_path / "hub", demo_mode=True)
    first = secret_key(settings)
    assert secret_key(settings) == first
    assert stat.S_IMODE((tmp_path / "hub" / "secret_key").stat().st_mode) == 0o600


def test_each_purpose_gets_its_own_key() -> None:
    """The session cookie key and the TOTP sealing key differ, though both come from one master secret."""
    master = b"0" * 32
    assert derive_key(master, "flask session") != derive_key(master, "totp secrets")
    assert len(derive_key(master, "totp secrets")) == 32
