"""`tinget hub …` on the command line: clear one-line errors, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.hub.helpers import closed_port, write_config
from tinget.cli import cli


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_a_malformed_settings_file_gives_one_line_and_exit_2(tmp_path: Path) -> None:
    """A broken TOML file is named, with what is wrong, on one line."""
    bad = tmp_path / "hub.toml"
    bad.write_text('database_url = "sqlite:///x.db\nweb_port = 80\n', encoding="utf-8")
    code, output = run("hub", "db", "upgrade", "--config", str(bad))
    assert code == 2
    assert output.startswith("tinget: configuration error: settings file") and "is not valid TOML" in output
    assert len(output.strip().splitlines()) == 1 and "Traceback" not in output


def test_a_misspelt_setting_is_refused_by_name(tmp_path: Path) -> None:
    """A typo must not fall back to a default silently."""
    config = tmp_path / "hub.toml"
    config.write_text("web_prot = 8000\n", encoding="utf-8")
    code, output = run("hub", "db", "upgrade", "--config", str(config))
    assert code == 2 and "unknown setting 'web_prot'" in output


def test_the_settings_file_comes_from_the_environment_too(tmp_path: Path) -> None:
    """TINGET_HUB_CONFIG names the file when --config is not given."""
    config = tmp_path / "hub.toml"
    config.write_text("signin_max_failures = -1\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["hub", "db", "upgrade"], env={"TINGET_HUB_CONFIG": str(config)})
    assert result.exit_code == 2 and "signin_max_failures must be at least 1" in result.output


def test_a_database_that_does_not_answer_gives_a_clear_message(tmp_path: Path) -> None:
    """PostgreSQL on a closed port: the database is named (without a password) and nothing else is said."""
    url = f"postgresql://tinget:hemligt@127.0.0.1:{closed_port()}/tinget"
    config = write_config(tmp_path, database_url=url)
    code, output = run("hub", "db", "upgrade", "--config", str(config))
    assert code == 3
    assert output.startswith("tinget: database unavailable: the database postgresql+psycopg://tinget:***@127.0.0.1:")
    assert "does not answer" in output and "hemligt" not in output
    assert len(output.strip().splitlines()) == 1 and "Traceback" not in output


def test_db_upgrade_creates_the_schema_and_can_run_again(tmp_path: Path) -> None:
    """Upgrading an up-to-date database is harmless."""
    from hub.migrate import head_revision

    config = write_config(tmp_path, database_url=f"sqlite:///{tmp_path / 'hub.db'}")
    for _ in range(2):
        code, output = run("hub", "db", "upgrade", "--config", str(config))
        assert code == 0 and f"är uppdaterad (migration {head_revision()})" in output


def test_commands_say_when_the_database_needs_migrating(tmp_path: Path) -> None:
    """Before `db upgrade`, other commands tell what to run."""
    config = write_config(tmp_path, database_url=f"sqlite:///{tmp_path / 'hub.db'}")
    code, output = run("hub", "audit", "verify", "--config", str(config))
    assert code == 3 and "run: tinget hub db upgrade" in output


def test_serve_refuses_to_start_without_a_secret_key_outside_demo_mode(tmp_path: Path) -> None:
    """SEC-20: no insecure default secret; the message says how to make one."""
    config = tmp_path / "hub.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n', encoding="utf-8")
    code, output = run("hub", "serve", "--config", str(config), "--dev")
    assert code == 2
    assert "hub secret key file" in output and "does not exist" in output and "secrets.token_hex" in output


def test_the_installed_command_prints_one_line_for_a_bad_file(tmp_path: Path) -> None:
    """The real console script behaves the same as the click group."""
    bad = tmp_path / "hub.toml"
    bad.write_text("[[[", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "tinget.cli", "hub", "audit", "verify", "--config", str(bad)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "not valid TOML" in done.stderr


@pytest.mark.parametrize("mode", [["--dev"], []], ids=["flask-dev-server", "gunicorn"])
def test_serve_answers_http(tmp_path: Path, mode: list[str]) -> None:
    """`tinget hub serve` (gunicorn, gthread workers) and `--dev` (Flask's server) both serve the start page."""
    import time
    import urllib.request

    config = write_config(tmp_path, database_url=f"sqlite:///{tmp_path / 'hub.db'}")
    assert run("hub", "db", "upgrade", "--config", str(config))[0] == 0
    port = closed_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tinget.cli", "hub", "serve", *mode, "--port", str(port), "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    assert "Krokoms kommun" in response.read().decode()
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("the hub did not answer within 20 s")
    finally:
        process.terminate()
        assert process.wait(timeout=15) is not None
