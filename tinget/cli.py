"""`tinget`: the one console command. Sub-command groups are loaded only when used (no I/O at import time)."""

from __future__ import annotations

import importlib
import sys

import click

# name -> ("module:attribute", one-line help shown by `tinget --help` without importing the module)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "hub": ("hub.cli:hub", "The town-hall hub: web, ingest worker, database, staff accounts, audit log."),
    "kiosk": ("kiosk.cli:kiosk", "A service-office kiosk: touch UI, sync agent, local database."),
    "provision": (
        "provisioning.cli:provision",
        "IT's tooling: certificate authority, device certificates, broker config.",
    ),
    "card": ("tinget.card:card", "Test e-ID cards in a virtual reader: check one with OpenSC, or keep one inserted."),
    "trustee": (
        "trustee.cli:trustee",
        "A poll's key holders: distributed key generation and partial decryption, on their own machines.",
    ),
    "verify": ("tinget.verify:verify", "Check a downloaded election record independently; names what does not hold."),
    "demo": (
        "tinget.demo:demo",
        "Run the whole system locally: broker, hub, ingest and two kiosks (Ctrl-C stops).",
    ),
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in SUBCOMMANDS:
            return None
        target, _help = SUBCOMMANDS[cmd_name]
        module_name, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUBCOMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(package_name="tinget")
def cli() -> None:
    """Tinget: kiosks and a digital office for a municipality, synced to a hub in the town hall."""


def main() -> None:
    """Console entry point: runs the command; a `ConfigError` becomes a one-line message and exit code 2."""
    from protocol.settings import ConfigError

    try:
        cli(standalone_mode=True)
    except ConfigError as exc:
        click.echo(f"tinget: configuration error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
