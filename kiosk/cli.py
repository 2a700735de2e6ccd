"""`tinget kiosk …`: serve the touch UI, upgrade the kiosk's database, run the sync agent."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from kiosk.settings import KioskSettings, load_kiosk_settings
from protocol.logs import configure_logging

log = logging.getLogger(__name__)

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Settings file (TOML). Default: $TINGET_KIOSK_CONFIG, else defaults and TINGET_* variables.",
)


def _settings(config_path: Path | None) -> KioskSettings:
    settings = load_kiosk_settings(config_path)
    configure_logging(settings.log_level)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin, every start
    return settings


def _upgrade(settings: KioskSettings) -> str:
    from kiosk.store import make_engine, upgrade

    engine = make_engine(settings.database)
    try:
        return upgrade(engine, settings.device_id)
    finally:
        engine.dispose()  # before gunicorn forks: no SQLite handle may cross into the worker


def _upgrade_in_child(config_path: Path | None) -> None:
    """Migrate the database in a short-lived child process.

    Alembic (with Mako and Pygments) would otherwise stay in the memory of the long-running sync agent for its
    whole life: some 20 MB on a Raspberry Pi, for something done once at start.
    """
    import subprocess

    args = [sys.executable, "-m", "tinget.cli", "kiosk", "db", "upgrade"]
    if config_path is not None:
        args += ["--config", str(config_path)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        click.echo((done.stderr or done.stdout).strip(), err=True)
        sys.exit(done.returncode)


@click.group()
def kiosk() -> None:
    """A service-office kiosk: touch UI, sync agent, local database."""


@kiosk.command()
@config_option
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port on 127.0.0.1 (default: web_port).")
@click.option("--dev", is_flag=True, help="Flask's development server instead of gunicorn.")
def serve(config_path: Path | None, port: int | None, dev: bool) -> None:
    """Serve the touch UI on 127.0.0.1 only.

    There is deliberately no --host option: the kiosk's browser runs on the same machine, and the UI must not
    be reachable from the office network. The database is upgraded first.
    """
    from kiosk.server import LOCAL_HOST, KioskServer

    settings = _settings(config_path)
    revision = _upgrade(settings)
    port = port or settings.web_port
    log.info(
        "kiosk UI starting",
        extra={
            "device_id": settings.device_id,
            "address": f"{LOCAL_HOST}:{port}",
            "schema": revision,
            "dev": dev,
        },
    )
    if dev:
        from kiosk.app import create_app
        from kiosk.web import runtime

        app = create_app(settings)
        with app.app_context():
            runtime().card_service.start()
        app.run(host=LOCAL_HOST, port=port, debug=False, use_reloader=False, threaded=True)
    else:
        KioskServer(settings, port).run()


@kiosk.group()
def db() -> None:
    """The kiosk's own SQLite database."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: Path | None) -> None:
    """Create or upgrade the kiosk database to the newest schema (safe to run again)."""
    settings = _settings(config_path)
    revision = _upgrade(settings)
    click.echo(f"kiosk database {settings.database} is at schema {revision}")


@kiosk.command()
@config_option
def sync(config_path: Path | None) -> None:
    """Run the sync agent: send confirmed actions to the hub until it acknowledges them, apply the hub's
    acks and commands, and send heartbeats (SIGTERM or Ctrl-C stops it cleanly).

    Exits with code 75 when the hub asks for a restart (systemd starts it again).
    """
    import signal
    import threading

    from kiosk.sync.agent import run_sync

    settings = _settings(config_path)
    # Stop cleanly on SIGTERM/SIGINT from the very start, also while the migration child runs.
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    _upgrade_in_child(config_path)
    if stop.is_set():
        return
    code = run_sync(settings, config_path=config_path, stop=stop)
    if code:
        sys.exit(code)


@kiosk.command()
@config_option
@click.argument("kind")
@click.option("--body", "body_json", default="{}", show_default=True, help="The action's body, JSON object.")
def act(config_path: Path | None, kind: str, body_json: str) -> None:
    """Developer and demo tool: store one confirmed action of KIND in the outbox and print its id.

    The action is written in its own transaction, as the UI would write it; the sync agent then sends it to
    the hub. Not a way for residents or staff to act: real actions come from the kiosk's UI.
    """
    from kiosk import outbox
    from kiosk.store import make_engine, make_session_factory
    from protocol.codec import EncodeError
    from protocol.topics import TopicError

    settings = _settings(config_path)
    try:
        body = json.loads(body_json)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--body") from None
    if not isinstance(body, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--body")
    _upgrade(settings)
    engine = make_engine(settings.database)
    try:
        with make_session_factory(engine).begin() as session:
            row = outbox.enqueue(session, kind, body, capacity=settings.outbox_capacity)
    except (EncodeError, TopicError, ValueError) as exc:
        raise click.BadParameter(str(exc)) from None
    except outbox.OutboxFull as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    click.echo(row.id)
