"""``tinget hub device-api`` and ``tinget hub sets publish``, added to the `hub.cli.hub` group on import.

hub/cli.py imports this module on its last line, so the helpers it uses below are already defined.
"""

from __future__ import annotations

from pathlib import Path

import click

from hub.cli import EXIT_BROKEN, _cli_actor, _fail, _ready_engine, _settings, config_option, hub, plain_errors


@hub.command("device-api")
@config_option
@click.option("--host", default=None, help="Address to listen on (default: device_api_host).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: device_api_port).")
@plain_errors
def device_api(config_path: Path | None, host: str | None, port: int | None) -> None:
    """Serve the device API (HTTPS, device certificates required) where kiosks fetch the sets."""
    settings = _settings(config_path, device_api_host=host, device_api_port=port)
    from hub.device_api.server import serve, tls_files

    tls_files(settings)  # a missing certificate is a one-line error, before gunicorn starts
    _ready_engine(settings).dispose()  # the engine must not cross gunicorn's fork
    serve(settings)


@hub.group()
def sets() -> None:
    """Replicated sets: what the hub sends every kiosk (config, trust, schedule, polls, roll, catalogue)."""


@sets.command("publish")
@config_option
@click.option("--no-announce", is_flag=True, help="Store new versions only; do not publish them over MQTT.")
@plain_errors
def sets_publish(config_path: Path | None, no_announce: bool) -> None:
    """Rebuild every set, store a new version of each changed one, and announce the current ones (retained)."""
    settings = _settings(config_path)
    from hub.sets.announce import AnnounceError
    from hub.sets.service import publish_sets
    from hub.sets.trust import TrustError

    engine = _ready_engine(settings)
    try:
        published = publish_sets(settings, engine, actor=_cli_actor(), announce=not no_announce)
    except TrustError as exc:
        _fail(f"cannot build the trust set: {exc}", EXIT_BROKEN)
        return
    except AnnounceError as exc:
        _fail(f"the new versions are stored, but not announced: {exc}; run the command again", EXIT_BROKEN)
        return
    finally:
        engine.dispose()
    for item in published:
        what = "ny version" if item.changed else "oförändrad"
        click.echo(f"{item.name}: version {item.version} ({what}), sha256 {item.sha256[:16]}…, {item.size} byte")
    if not no_announce:
        click.echo(f"Aktuella versioner publicerade på {settings.mqtt_host}:{settings.mqtt_port} (behållna).")
