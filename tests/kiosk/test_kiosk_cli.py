"""`tinget kiosk …`: the UI binds 127.0.0.1 only; the database upgrades from the command line."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'device_id = "follinge"\noffice_name = "Föllinge"\ndemo_mode = true\ndata_dir = "{tmp_path / "data"}"\n',
        encoding="utf-8",
    )
    return path


def test_the_gunicorn_server_binds_127_0_0_1_with_one_threaded_worker(kiosk_settings):
    from kiosk.server import KioskServer

    server = KioskServer(kiosk_settings, port=18080)
    assert server.cfg.bind == ["127.0.0.1:18080"]
    assert server.cfg.workers == 1
    assert server.cfg.worker_class_str == "gthread"
    assert server.cfg.threads == 12  # page requests plus one event stream per open page
    assert getattr(server.cfg, "control_socket_disable", True) is True
    assert KioskServer(kiosk_settings).cfg.bind == ["127.0.0.1:8080"]


def test_the_server_ignores_gunicorn_settings_from_the_environment(kiosk_settings, monkeypatch):
    from kiosk.server import KioskServer

    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--bind 0.0.0.0:80")
    assert KioskServer(kiosk_settings, port=18080).cfg.bind == ["127.0.0.1:18080"]


def test_serve_has_no_way_to_choose_another_bind_address():
    from kiosk.cli import kiosk

    runner = CliRunner()
    help_text = runner.invoke(kiosk, ["serve", "--help"]).output
    assert "127.0.0.1 only" in help_text
    assert "no --host option" in help_text
    for option in ("--host", "--bind", "-b"):
        result = runner.invoke(kiosk, ["serve", option, "0.0.0.0"])  # noqa: S104 - refused, as tested
        assert result.exit_code == 2
        assert "No such option" in result.output


def test_db_upgrade_creates_the_database_and_can_run_again(config_file, tmp_path):
    from kiosk.cli import kiosk
    from kiosk.store import head_revision

    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(kiosk, ["db", "upgrade", "--config", str(config_file)])
        assert result.exit_code == 0, result.output
        assert f"is at schema {head_revision()}" in result.output
    database = tmp_path / "data" / "kiosk.db"
    with sqlite3.connect(database) as connection:
        meta = dict(connection.execute("SELECT key, value FROM kiosk_meta"))
    connection.close()
    assert meta["device_id"] == "follinge"


def test_a_missing_device_id_is_a_clear_configuration_error(tmp_path, monkeypatch):
    from kiosk.settings import load_kiosk_settings
    from protocol.settings import ConfigError

    monkeypatch.delenv("TINGET_KIOSK_CONFIG", raising=False)
    monkeypatch.delenv("TINGET_DEVICE_ID", raising=False)
    with pytest.raises(ConfigError, match="device_id"):
        load_kiosk_settings(office_name="Änge", data_dir=tmp_path)


def test_sync_without_device_certificates_says_what_is_missing(config_file):
    from kiosk.cli import kiosk
    from protocol.settings import ConfigError

    result = CliRunner().invoke(kiosk, ["sync", "--config", str(config_file)])
    assert isinstance(result.exception, ConfigError)
    assert "mqtt_cert_file" in str(result.exception)
