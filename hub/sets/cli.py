"""``tinget hub device-api`` and ``tinget hub sets publish``, added to the `hub.cli.hub` group on import.

hub/cli.py imports this module on its last line, so the helpers it uses below are already defined.
"""

from __future__ import annotations

from pathlib import Path

import click

from hub.cli import (
    EXIT_BROKEN,
    EXIT_CONFIG,
    _cli_actor,
    _fail,
    _ready_engine,
    _settings,
    config_option,
    hub,
    plain_errors,
)
from hub.settings import HubSettings


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
    _publish(_settings(config_path), announce=not no_announce)


def _publish(settings: HubSettings, *, announce: bool) -> None:
    from hub.sets.announce import AnnounceError
    from hub.sets.service import publish_sets
    from hub.sets.trust import TrustError

    engine = _ready_engine(settings)
    try:
        published = publish_sets(settings, engine, actor=_cli_actor(), announce=announce)
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
    if announce:
        click.echo(f"Aktuella versioner publicerade på {settings.mqtt_host}:{settings.mqtt_port} (behållna).")


@sets.command("refresh-crls")
@config_option
@click.option("--no-publish", is_flag=True, help="Only fetch the lists; do not publish the sets afterwards.")
@plain_errors
def sets_refresh_crls(config_path: Path | None, no_publish: bool) -> None:
    """Fetch the e-ID issuers' revocation lists (eid_crl_urls) into eid_crl_dir, then publish the sets.

    A list is stored only if an issuer in eid_ca_file signed it and it is newer than the one held; a failed
    fetch keeps the old list and makes the command exit non-zero (the timer's journal shows why).
    """
    settings = _settings(config_path)
    if settings.eid_ca_file is None or settings.eid_crl_dir is None or not settings.eid_crl_urls:
        _fail("set eid_ca_file, eid_crl_dir and eid_crl_urls first (docs/eid.md)", EXIT_CONFIG)
        return
    from hub.sets.revocation import refresh_crls
    from hub.sets.trust import TrustError

    try:
        results = refresh_crls(settings.eid_crl_urls, settings.eid_ca_file, settings.eid_crl_dir)
    except TrustError as exc:
        _fail(str(exc), EXIT_BROKEN)
        return
    for result in results:
        click.echo(f"{result.outcome:8} {result.url}  {result.detail}".rstrip())
    if not no_publish:
        _publish(settings, announce=True)
    if any(result.outcome == "failed" for result in results):
        _fail("some revocation lists could not be fetched; the kiosks keep the last good ones", EXIT_BROKEN)
