"""`tinget provision`: IT's commands for the certificate authority, kiosk certificates and the broker config.

Every command is safe to run again: existing keys and certificates are reused and reported, never replaced
unless asked (``--renew``). Failures print one line saying what to do, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import click

from provisioning import broker as broker_config
from provisioning import pki as authority

DIR_OPTION = click.option(
    "--dir",
    "pki_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The PKI directory (created if missing).",
)


def _report(step: authority.Step) -> None:
    click.echo(f"{step.action:8} {step.what:12} {step.cert_file}  (valid until {step.not_after:%Y-%m-%d})")


class _Errors:
    """Turn the domain's errors into click's one-line error messages."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, authority.PkiError):
            raise click.ClickException(str(exc)) from None
        if isinstance(exc, OSError):
            raise click.ClickException(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from None


@click.group()
def provision() -> None:
    """IT's tooling: certificate authority, device certificates, broker configuration."""


@provision.command("pki")
@DIR_OPTION
@click.option("--hostname", help="The host name kiosks use for the hub and broker (besides localhost).")
def pki_command(pki_dir: Path, hostname: str | None) -> None:
    """Create (or check) the root CA, the issuing CA, and the broker and hub certificates."""
    with _Errors():
        for step in authority.ensure_pki(pki_dir, hostname):
            _report(step)
    click.echo(f"CA file for clients and broker: {authority.PkiLayout(pki_dir).chain}")


@provision.command("device")
@click.argument("device_id")
@DIR_OPTION
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True, help="Certificate lifetime.")
@click.option("--renew", is_flag=True, help="Issue a fresh certificate for the device's existing key.")
def device_command(device_id: str, pki_dir: Path, days: int, renew: bool) -> None:
    """Issue kiosk DEVICE_ID its key and certificate (CN = DEVICE_ID)."""
    with _Errors():
        step = authority.ensure_device(pki_dir, device_id, days=days, renew=renew)
        _report(step)
        cred = authority.PkiLayout(pki_dir).device(device_id)
    if step.action == "reused":
        click.echo("The existing certificate was kept; use --renew for a new one.")
    click.echo(f"key: {cred.key_file}")


@provision.command("revoke")
@click.argument("device_id")
@DIR_OPTION
@click.option(
    "--broker-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Broker config directory whose ACL is regenerated (as written by broker-config --out).",
)
@click.option(
    "--pid-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Mosquitto's pid file: the broker is sent SIGHUP to reload the ACL.",
)
def revoke_command(device_id: str, pki_dir: Path, broker_dir: Path | None, pid_file: Path | None) -> None:
    """Revoke kiosk DEVICE_ID: add it to the revoked list and cut it off at the broker."""
    with _Errors():
        if authority.revoke_device(pki_dir, device_id):
            click.echo(f"revoked  device {device_id}")
        else:
            click.echo(f"device {device_id} was already revoked")
        if broker_dir is None:
            click.echo("No --broker-dir given: regenerate the broker ACL and reload the broker to cut it off.")
            return
        allowed = broker_config.write_acl(pki_dir, broker_dir / broker_config.ACL_NAME)
        click.echo(f"ACL rewritten: {broker_dir / broker_config.ACL_NAME} ({len(allowed)} devices allowed)")
        if pid_file is None:
            click.echo("No --pid-file given: reload the broker (SIGHUP, or `systemctl reload`) to apply it.")
            return
        pid = broker_config.read_pid_file(pid_file)
        broker_config.reload_broker(pid)
        click.echo(f"broker (pid {pid}) reloaded: {device_id} can no longer publish or receive")


@provision.command("broker-config")
@DIR_OPTION
@click.option("--port", type=click.IntRange(1, 65535), default=8883, show_default=True)
@click.option("--bind", "bind_address", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Where to write the files."
)
@click.option("--persistence-dir", type=click.Path(file_okay=False, path_type=Path), help="Default: OUT/data.")
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path), help="Default: stderr (journald).")
@click.option("--user", "run_as_user", help="User Mosquitto drops to when started as root (default: mosquitto).")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Path Mosquitto reads the broker key from, e.g. its systemd credential (default: the PKI's).",
)
def broker_config_command(
    pki_dir: Path,
    port: int,
    bind_address: str,
    out: Path,
    persistence_dir: Path | None,
    log_file: Path | None,
    run_as_user: str | None,
    key_file: Path | None,
) -> None:
    """Write mosquitto.conf and its ACL (one block per enrolled, non-revoked device) into OUT."""
    settings = broker_config.BrokerSettings(
        port=port,
        bind_address=bind_address,
        persistence_dir=persistence_dir,
        log_file=log_file,
        run_as_user=run_as_user,
        key_file=key_file,
    )
    with _Errors():
        files = broker_config.write_broker_config(pki_dir, out, settings)
    click.echo(f"wrote {files.conf}")
    click.echo(f"wrote {files.acl} (devices: {', '.join(authority.active_devices(pki_dir)) or 'none yet'})")
    click.echo(f"start: mosquitto -c {files.conf}")


EID_DIR_OPTION = click.option(
    "--dir",
    "ca_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The test e-ID issuer's directory (created if missing).",
)


@provision.command("test-ca")
@EID_DIR_OPTION
@click.option("--organisation", default="Tinget Test e-ID", show_default=True, help="The issuer's name.")
def test_ca_command(ca_dir: Path, organisation: str) -> None:
    """Create (or check) a TEST e-ID issuer: its root and card CA, and fresh revocation lists.

    For tests and demos only. Point the hub's eid_ca_file at DIR/chain.pem and eid_crl_dir at DIR/crl.
    """
    from provisioning import eid

    with _Errors():
        for step in eid.ensure_test_ca(ca_dir, organisation=organisation):
            _report(step)
        layout = eid.IssuerLayout(ca_dir)
    click.echo(f"eid_ca_file = {layout.chain}")
    click.echo(f"eid_crl_dir = {layout.crl_dir}  (revocation lists valid {eid.CRL_DAYS} days; run again to renew)")


@provision.command("test-card")
@EID_DIR_OPTION
@click.option("--name", required=True, help='The holder\'s name, e.g. "Anna Andersson".')
@click.option("--personnummer", help="A resident's card: the personnummer in the certificate.")
@click.option("--employee-id", help="A staff card: the employee id (HSA-id style, e.g. SE2321000255-abc123).")
@click.option("--pin", required=True, help="The card's PIN, 6-8 digits (a test card keeps it in its file).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The card file to write.")
@click.option("--label", help="What the demo's card panel calls the card (default: the holder's name).")
@click.option("--rsa", "rsa_key", is_flag=True, help="An RSA-2048 key instead of EC P-256.")
@click.option("--expired", is_flag=True, help="Issue a certificate whose validity has already ended.")
@click.option("--days", type=click.IntRange(min=1), default=5 * 365, show_default=True, help="Certificate lifetime.")
@click.option("--pin-tries", type=click.IntRange(0, 15), default=3, show_default=True, help="PIN tries left.")
def test_card_command(
    ca_dir: Path,
    name: str,
    personnummer: str | None,
    employee_id: str | None,
    pin: str,
    out: Path,
    label: str | None,
    rsa_key: bool,
    expired: bool,
    days: int,
    pin_tries: int,
) -> None:
    """Issue a TEST e-ID card file for the card emulator (tests and the demo only)."""
    from protocol.testcard import CardFileError
    from provisioning import eid

    try:
        with _Errors():
            card = eid.issue_card(
                ca_dir,
                out,
                name=name,
                pin=pin,
                personnummer=personnummer,
                employee_id=employee_id,
                rsa_key=rsa_key,
                days=days,
                expired=expired,
                pin_tries=pin_tries,
                label=label or name,
            )
    except CardFileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"card     {card.holder}: {card.path} (serial {card.serial:x}, valid until {card.not_after:%Y-%m-%d})")


@provision.command("revoke-card")
@EID_DIR_OPTION
@click.argument("card_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def revoke_card_command(ca_dir: Path, card_file: Path) -> None:
    """Revoke a TEST card: put it on the issuer's revocation list (the hub publishes it with the trust set)."""
    from provisioning import eid

    with _Errors():
        changed = eid.revoke_card(ca_dir, card_file)
    click.echo(f"revoked  {card_file}" if changed else f"{card_file} was already revoked")
    click.echo("Run `tinget hub sets publish` to send the new list to the kiosks.")
