"""`tinget hub poll recheck`: take in again the ballots the ingest could not check (hub/polls/recheck.py)."""

from __future__ import annotations

from pathlib import Path

import click

from hub.cli import _cli_actor, config_option, plain_errors
from hub.polls.cli import _session, poll, poll_errors


@poll.command("recheck")
@config_option
@plain_errors
@poll_errors
def poll_recheck(config_path: Path | None) -> None:
    """Check again the ballots refused because the hub could not check them (after fixing its files)."""
    from hub.polls.recheck import recheck_unchecked

    with _session(config_path) as (settings, session):
        done = recheck_unchecked(session, settings, actor=_cli_actor())
    click.echo(f"Tog emot {done.taken} valsedlar; {done.still_refused} kunde fortfarande inte kontrolleras.")
    if done.first_reason:
        click.echo(f"Första skälet: {done.first_reason}")
