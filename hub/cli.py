"""`tinget hub …`: serve the web, run the ingest worker, migrate the database, add staff, check the audit log.

Every command reads the settings from ``--config`` or ``TINGET_HUB_CONFIG``. Problems a person can fix (a bad
settings file, a database that does not answer, a schema that needs migrating) end the command with one line
and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import functools
import getpass
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from hub.settings import HubSettings, load_hub_settings
from protocol.settings import ConfigError, read_secret

F = TypeVar("F", bound=Callable[..., Any])

EXIT_BROKEN = 1
EXIT_CONFIG = 2
EXIT_DATABASE = 3
DEVICE_COMMANDS = ("reload", "resync", "restart")  # hub.devices.commands.COMMAND_NAMES, without its imports

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Settings file (TOML). Default: $TINGET_HUB_CONFIG, else built-in defaults.",
)


def _fail(message: str, code: int) -> None:
    click.echo(f"tinget: {message}", err=True)
    sys.exit(code)


def plain_errors(command: F) -> F:
    """Turn problems a person can fix into one line on stderr and an exit code."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from sqlalchemy.exc import SQLAlchemyError

        from hub.db import DatabaseUnavailable
        from hub.migrate import SchemaOutOfDate

        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            _fail(f"configuration error: {exc}", EXIT_CONFIG)
        except DatabaseUnavailable as exc:
            _fail(f"database unavailable: {exc}", EXIT_DATABASE)
        except SchemaOutOfDate as exc:
            _fail(str(exc), EXIT_DATABASE)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            _fail(f"database error: {reason[0] if reason else exc.__class__.__name__}", EXIT_DATABASE)

    return wrapped  # type: ignore[return-value]


def _settings(config_path: Path | None, **overrides: Any) -> HubSettings:
    settings = load_hub_settings(config_path, **overrides)
    from protocol.logs import configure_logging

    configure_logging(settings.log_level)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the commands say what they did themselves
    return settings


def _ready_engine(settings: HubSettings) -> Any:
    """The engine, after checking that the database answers and is migrated."""
    from hub.db import check_database, make_engine
    from hub.migrate import require_current

    engine = make_engine(settings.database_url)
    check_database(engine)
    require_current(engine)
    return engine


@click.group()
def hub() -> None:
    """The town-hall hub: web, ingest worker, database, staff accounts, audit log."""


@hub.command()
@config_option
@click.option("--dev", is_flag=True, help="Flask's development server (one process, for local work).")
@click.option("--host", default=None, help="Address to listen on (default: web_host).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: web_port).")
@plain_errors
def serve(config_path: Path | None, dev: bool, host: str | None, port: int | None) -> None:
    """Serve the hub web (gunicorn; Flask's server with --dev)."""
    settings = _settings(config_path, web_host=host, web_port=port)
    from hub.settings import secret_key

    secret_key(settings)  # refuse to start without one, before any worker forks
    _ready_engine(settings).dispose()
    if dev:
        from hub.app import create_app

        create_app(settings).run(host=settings.web_host, port=settings.web_port, debug=False, use_reloader=False)
        return
    from hub.server import serve as gunicorn_serve

    gunicorn_serve(settings)


@hub.command()
@config_option
@plain_errors
def ingest(config_path: Path | None) -> None:
    """Run the ingest worker: read what the kiosks publish over MQTT and record it."""
    settings = _settings(config_path)
    engine = _ready_engine(settings)
    from hub.ingest.worker import run_worker

    run_worker(settings, engine)


@hub.group()
def db() -> None:
    """The hub's database."""


@db.command("upgrade")
@config_option
@plain_errors
def db_upgrade(config_path: Path | None) -> None:
    """Create or migrate the database schema to the newest version."""
    settings = _settings(config_path)
    from hub.db import check_database, describe, make_engine
    from hub.migrate import upgrade

    engine = make_engine(settings.database_url)
    check_database(engine)
    revision = upgrade(engine)
    click.echo(f"Databasen {describe(engine)} är uppdaterad (migration {revision}).")
    engine.dispose()


@hub.group()
def user() -> None:
    """Staff accounts."""


def _cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@user.command("add")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help="admin, election_officer, registrar, it, staff.")
@click.option("--display-name", default=None, help="The name shown in the hub (default: the username).")
@click.option(
    "--password-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Read the password from this file (mode 0600); otherwise you are asked for it.",
)
@config_option
@plain_errors
def user_add(
    username: str,
    roles: tuple[str, ...],
    display_name: str | None,
    password_file: Path | None,
    config_path: Path | None,
) -> None:
    """Add a staff account and print its TOTP secret once (for the authenticator app)."""
    settings = _settings(config_path)
    from hub.db import make_session_factory, unit_of_work
    from hub.settings import derive_key, secret_key
    from hub.staff.accounts import StaffError, add_staff
    from hub.staff.roles import parse_roles

    try:
        parsed_roles = parse_roles(roles)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--role") from None
    totp_key = derive_key(secret_key(settings), "totp secrets")
    if password_file is not None:
        password = read_secret(password_file, what="password").decode("utf-8")
    else:
        password = click.prompt("Lösenord", hide_input=True, confirmation_prompt="Lösenord igen")
    engine = _ready_engine(settings)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            created = add_staff(
                session,
                username=username,
                display_name=display_name or username,
                password=password,
                roles=parsed_roles,
                totp_key=totp_key,
                actor=_cli_actor(),
            )
    except StaffError as exc:
        _fail(f"cannot add {username!r}: {exc}", EXIT_BROKEN)
        return
    finally:
        engine.dispose()
    member = created.member
    click.echo(f"Kontot {member.username} är skapat med rollerna {', '.join(sorted(member.roles))}.")
    click.echo("Lägg in hemligheten i en autentiseringsapp nu; den visas bara den här gången.")
    click.echo(f"TOTP-hemlighet: {created.totp_secret}")
    click.echo(f"otpauth-adress: {created.provisioning_uri}")


@user.command("card")
@click.argument("username")
@click.argument("employee_id", required=False)
@click.option("--remove", is_flag=True, help="Take the card away: the member can no longer sign in at kiosks.")
@config_option
@plain_errors
def user_card(username: str, employee_id: str | None, remove: bool, config_path: Path | None) -> None:
    """Set the employee id (HSA-id style) on USERNAME's e-ID card, so the card signs in at kiosks.

    Kiosks learn of it with the next `tinget hub sets publish`.
    """
    if remove == (employee_id is not None):
        raise click.UsageError("give either EMPLOYEE_ID or --remove")
    settings = _settings(config_path)
    from hub.db import make_session_factory, unit_of_work
    from hub.staff.accounts import StaffError
    from hub.staff.cards import set_employee_id

    engine = _ready_engine(settings)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            member = set_employee_id(session, username=username, employee_id=employee_id, actor=_cli_actor())
    except StaffError as exc:
        _fail(f"cannot change {username!r}: {exc}", EXIT_BROKEN)
        return
    finally:
        engine.dispose()
    if member.employee_id:
        click.echo(f"{member.username} har nu tjänstekortet {member.employee_id}.")
    else:
        click.echo(f"{member.username} har inget tjänstekort längre.")
    click.echo("Kioskerna får ändringen vid nästa `tinget hub sets publish`.")


@user.command("code")
@click.argument("username")
@config_option
@plain_errors
def user_code(username: str, config_path: Path | None) -> None:
    """Print the account's current one-time code (demo mode only: stands in for the phone)."""
    settings = _settings(config_path)
    if not settings.demo_mode:
        _fail("`tinget hub user code` works only in demo mode (demo_mode = true)", EXIT_CONFIG)
    from hub.db import make_session_factory, unit_of_work
    from hub.settings import derive_key, secret_key
    from hub.staff.accounts import StaffError, current_code_for

    totp_key = derive_key(secret_key(settings), "totp secrets")
    engine = _ready_engine(settings)
    try:
        with unit_of_work(make_session_factory(engine), write=False) as session:
            click.echo(current_code_for(session, username, totp_key))
    except StaffError as exc:
        _fail(str(exc), EXIT_BROKEN)
    finally:
        engine.dispose()


@hub.group()
def audit() -> None:
    """The audit log (granskningslogg)."""


PROBLEMS_SV = {
    "missing": "posten saknas",
    "link": "länken till föregående post stämmer inte",
    "contents": "innehållet har ändrats efter att posten skrevs",
    "unreadable": "posten går inte att läsa",
}


@audit.command("verify")
@click.option(
    "--file",
    "export_file",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help="Check an exported log (JSON lines) instead of the database.",
)
@config_option
@plain_errors
def audit_verify(export_file: Any, config_path: Path | None) -> None:
    """Recompute the hash chain; name the first broken entry and exit 1 if there is one (SEC-16)."""
    from hub.audit import log as audit_log

    if export_file is not None:
        report = audit_log.verify_export(export_file)
    else:
        settings = _settings(config_path)
        from hub.db import make_session_factory, unit_of_work

        engine = _ready_engine(settings)
        with unit_of_work(make_session_factory(engine), write=False) as session:
            report = audit_log.verify_chain(session)
        engine.dispose()
    if report.ok:
        entries = "post" if report.count == 1 else "poster"
        click.echo(f"Granskningsloggen är hel: {report.count} {entries} (senaste hash {report.head}).")
        return
    problem = PROBLEMS_SV.get(report.problem or "", report.reason or "")
    click.echo(f"Granskningsloggen är bruten vid post {report.first_broken}: {problem}.", err=True)
    click.echo(f"({report.reason}; {report.count} poster före den stämmer)", err=True)
    sys.exit(EXIT_BROKEN)


@audit.command("export")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write to this file (default: standard output).",
)
@config_option
@plain_errors
def audit_export(output: Path | None, config_path: Path | None) -> None:
    """Write the whole log as JSON lines, to be archived and checked with `audit verify --file`."""
    settings = _settings(config_path)
    from hub.audit import log as audit_log
    from hub.db import make_session_factory, unit_of_work

    engine = _ready_engine(settings)
    sessions = make_session_factory(engine)
    count = 0
    stream = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        with unit_of_work(sessions, write=False) as session:
            for line in audit_log.export_lines(session):
                stream.write(line + "\n")
                count += 1
    finally:
        if output:
            stream.close()
    with unit_of_work(sessions) as session:
        audit_log.record(session, actor=_cli_actor(), action="audit.exported", details={"entries": count})
    engine.dispose()
    entries = "post" if count == 1 else "poster"
    click.echo(f"Exporterade {count} {entries}{f' till {output}' if output else ''}.", err=True)


from hub.polls import cli as _polls_cli  # noqa: E402, F401 - adds `hub poll …` to `hub`
from hub.registry import cli as _registry_cli  # noqa: E402, F401 - adds `hub registry …` to `hub`
from hub.sets import cli as _sets_cli  # noqa: E402, F401 - adds `hub device-api` and `hub sets publish` to `hub`


@hub.group()
def device() -> None:
    """Devices (enheter): state, lag and alarms; commands to one device."""


@device.command("list")
@config_option
@plain_errors
def device_list(config_path: Path | None) -> None:
    """Every device that has reported in, with its state, outbox and alarms."""
    settings = _settings(config_path)
    from hub.db import make_session_factory, unit_of_work, utcnow
    from hub.devices.status import fleet, limits_from

    engine = _ready_engine(settings)
    now = utcnow()
    try:
        with unit_of_work(make_session_factory(engine), write=False) as session:
            rows = [
                (
                    s.device.device_id,
                    "ansluten" if s.online else "frånkopplad",
                    s.device.last_seen.strftime("%Y-%m-%d %H:%M"),
                    "-" if s.device.outbox_depth is None else str(s.device.outbox_depth),
                    "-" if s.device.outbox_oldest_age_s is None else f"{s.device.outbox_oldest_age_s} s",
                    ", ".join(s.alarms) or "-",
                )
                for s in fleet(session, now, limits_from(settings))
            ]
    finally:
        engine.dispose()
    if not rows:
        click.echo("Ingen enhet har rapporterat till navet ännu.")
        return
    header = ("ENHET", "STATUS", "SENAST HÖRD (UTC)", "UTKORG", "ÄLDSTA", "LARM")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@device.command("command")
@click.argument("device_id", metavar="DEVICE")
@click.argument("name", type=click.Choice(DEVICE_COMMANDS))
@config_option
@plain_errors
def device_command(device_id: str, name: str, config_path: Path | None) -> None:
    """Send reload, resync or restart to DEVICE: stored and audited here, published by the ingest."""
    settings = _settings(config_path)
    from hub.db import make_session_factory, unit_of_work
    from hub.devices.commands import CommandError, create_command

    engine = _ready_engine(settings)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            command = create_command(session, device_id=device_id, name=name, actor=_cli_actor())
    except CommandError as exc:
        _fail(f"cannot send {name!r}: {exc}", EXIT_BROKEN)
        return
    finally:
        engine.dispose()
    click.echo(f"Kommandot {name} till {device_id} är sparat (id {command.command_id}); ingest skickar det.")
