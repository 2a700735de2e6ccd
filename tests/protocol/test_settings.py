"""Settings: defaults < TOML file < TINGET_* environment < overrides; clear errors; secrets in tight files."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

import pytest

from protocol.settings import ConfigError, ensure_secret, load_settings, read_secret


@dataclasses.dataclass(frozen=True)
class ExampleSettings:
    device_id: str
    web_port: int = 8080
    demo_mode: bool = False
    mqtt_host: str = "127.0.0.1"
    mqtt_ca_file: Path | None = None
    languages: tuple[str, ...] = ("sv", "en")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_with_tables_fills_the_flattened_fields(tmp_path: Path) -> None:
    toml = write(
        tmp_path / "kiosk.toml",
        'device_id = "ange"\nlanguages = ["sv"]\n[mqtt]\nhost = "hub.example"\nca-file = "/etc/ca.pem"\n',
    )
    got = load_settings(ExampleSettings, toml, env={})
    assert got == ExampleSettings(
        device_id="ange", mqtt_host="hub.example", mqtt_ca_file=Path("/etc/ca.pem"), languages=("sv",)
    )


def test_the_environment_overrides_the_file_and_overrides_win_over_both(tmp_path: Path) -> None:
    toml = write(tmp_path / "kiosk.toml", 'device_id = "ange"\nweb_port = 8081\n[mqtt]\nhost = "from-file"\n')
    env = {"TINGET_WEB_PORT": "9000", "TINGET_MQTT_HOST": "from-env", "TINGET_DEMO_MODE": "yes"}
    got = load_settings(ExampleSettings, toml, env=env)
    assert (got.web_port, got.mqtt_host, got.demo_mode) == (9000, "from-env", True)
    got = load_settings(ExampleSettings, toml, env=env, overrides={"web_port": 7000, "mqtt_host": None})
    assert (got.web_port, got.mqtt_host) == (7000, "from-env")


def test_malformed_toml_is_a_config_error_that_names_the_file(tmp_path: Path) -> None:
    toml = write(tmp_path / "broken.toml", 'device_id = "ange\n')
    with pytest.raises(ConfigError, match="is not valid TOML") as caught:
        load_settings(ExampleSettings, toml, env={})
    assert str(toml) in str(caught.value)


def test_a_missing_file_is_a_config_error_that_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"settings file .*nowhere\.toml does not exist"):
        load_settings(ExampleSettings, tmp_path / "nowhere.toml", env={})


def test_an_unknown_key_is_refused_not_ignored(tmp_path: Path) -> None:
    """A typo must not silently fall back to a default."""
    toml = write(tmp_path / "kiosk.toml", 'device_id = "ange"\nweb_prot = 1\n')
    with pytest.raises(ConfigError, match="unknown setting 'web_prot'") as caught:
        load_settings(ExampleSettings, toml, env={})
    assert str(toml) in str(caught.value) and "web_port" in str(caught.value)
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        load_settings(ExampleSettings, None, env={}, overrides={"device_id": "ange", "colour": "red"})


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"TINGET_WEB_PORT": "eighty"}, "web_port (TINGET_WEB_PORT) must be a whole number"),
        ({"TINGET_DEMO_MODE": "maybe"}, "demo_mode (TINGET_DEMO_MODE) must be true or false"),
    ],
)
def test_a_malformed_value_names_the_setting_and_where_it_came_from(env: dict[str, str], said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(ExampleSettings, None, env={"TINGET_DEVICE_ID": "ange", **env})
    assert said in str(caught.value)


def test_a_missing_required_setting_names_its_variable() -> None:
    with pytest.raises(ConfigError, match=r"missing settings: device_id \(or TINGET_DEVICE_ID\)"):
        load_settings(ExampleSettings, None, env={})


def test_a_secret_file_others_can_read_is_refused(tmp_path: Path) -> None:
    """SEC-20: secrets are files with tight permissions; mode 0644 is refused with the fix to apply."""
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    secret.chmod(0o644)
    with pytest.raises(ConfigError, match=r"can be read by others .* chmod 600") as caught:
        read_secret(secret)
    assert "s3cr3t" not in str(caught.value)
    secret.chmod(0o600)
    assert read_secret(secret) == b"s3cr3t"


def test_a_missing_or_empty_secret_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        read_secret(tmp_path / "absent")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    empty.chmod(0o600)
    with pytest.raises(ConfigError, match="is empty"):
        read_secret(empty)


def test_ensure_secret_creates_a_random_owner_only_file_once(tmp_path: Path) -> None:
    """SEC-20: the first run makes a 0600 secret; later runs read the same one."""
    path = tmp_path / "var" / "secret_key"
    first = ensure_secret(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 64 and ensure_secret(path) == first
    assert ensure_secret(tmp_path / "other") != first
