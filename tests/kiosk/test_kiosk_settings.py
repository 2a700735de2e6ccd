"""The kiosk's settings: defaults, file, environment, and refusals with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.settings import ConfigError


def test_defaults_put_the_database_and_session_key_inside_the_data_dir(tmp_path, monkeypatch):
    from kiosk.settings import load_kiosk_settings

    monkeypatch.delenv("TINGET_KIOSK_CONFIG", raising=False)
    settings = load_kiosk_settings(device_id="ange", office_name="Änge", data_dir=tmp_path)
    assert settings.database == tmp_path / "kiosk.db"
    assert settings.secret_key_path == tmp_path / "secret_key"
    assert settings.web_port == 8080
    assert settings.idle_seconds == 90
    assert settings.default_language == "sv"
    assert settings.languages == ("sv", "en")
    assert settings.demo_mode is False


def test_the_file_comes_from_tinget_kiosk_config_and_tables_flatten(tmp_path, monkeypatch):
    from kiosk.settings import load_kiosk_settings

    path = tmp_path / "kiosk.toml"
    path.write_text(
        'device_id = "follinge"\noffice_name = "Föllinge"\nidle_seconds = 60\nlanguages = ["sv", "en"]\n'
        '[mqtt]\nhost = "hub.krokom.example"\nport = 8884\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("TINGET_KIOSK_CONFIG", str(path))
    monkeypatch.setenv("TINGET_WEB_PORT", "8181")
    settings = load_kiosk_settings()
    assert (settings.device_id, settings.office_name, settings.idle_seconds) == ("follinge", "Föllinge", 60)
    assert (settings.mqtt_host, settings.mqtt_port, settings.web_port) == ("hub.krokom.example", 8884, 8181)
    assert settings.data_dir == Path("var/kiosk")


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"device_id": "Änge"}, "slug"),
        ({"idle_seconds": 10}, "idle_seconds"),
        ({"default_language": "fi"}, "default_language"),
        ({"web_port": 70000}, "web_port"),
        ({"office_name": " "}, "office_name"),
    ],
)
def test_unsafe_or_inconsistent_settings_are_refused(overrides, says, monkeypatch):
    from kiosk.settings import load_kiosk_settings

    monkeypatch.delenv("TINGET_KIOSK_CONFIG", raising=False)
    values = {"device_id": "ange", "office_name": "Änge", **overrides}
    with pytest.raises(ConfigError, match=says):
        load_kiosk_settings(**values)
