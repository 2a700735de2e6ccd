"""`tinget verify FILE`: check a downloaded election record independently (protocol.ballots.verify), a secret
poll's or a named poll's (protocol.ballots.named_verify), told apart by the file's first line."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.argument("record_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--head", help="The board head you saw published earlier: the record must end in it.")
@click.option("--code", "codes", multiple=True, help="A receipt's tracking code that must be on the board.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1, 64), help="Processes checking proofs.")
def verify(record_file: Path, head: str | None, codes: tuple[str, ...], jobs: int) -> None:
    """Re-check an election record: key generation, board, proofs, re-vote rule, aggregate, decryption, counts
    (for a named poll: board, card certificates and signatures, re-vote rule, sums).

    Prints each check that holds and the result; on the first thing that does not hold, names it and exits 1.
    """
    from protocol.ballots.verify import RecordProblem, find_codes, verify_file

    try:
        verified = verify_file(record_file, jobs=jobs, expected_head=head)
        found = find_codes(record_file, codes)
    except RecordProblem as exc:
        click.echo(f"FAILED  {exc}")
        sys.exit(1)
    for check in verified.checks:
        click.echo(f"ok  {check}")
    for code, status in found.items():
        if status is None:
            click.echo(f"FAILED  tracking code {code} is not on the board")
            sys.exit(1)
        click.echo(f"ok  tracking code {code} is on the board: {status}")
    click.echo(f"poll {verified.poll_id}: {verified.counted} ballots counted, board head {verified.head}")
    for name, count in zip(verified.options, verified.counts, strict=True):
        click.echo(f"{count:>10}  {name}")
    click.echo("every check holds")
