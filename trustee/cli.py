"""`tinget trustee`: the key holders' commands, each run on the trustee's own machine.

Key generation is three rounds; the hub (or a USB stick) carries the files between trustees:

    tinget trustee keygen announce ceremony.json --me 1 --state me.state --out announce-1.json
    tinget trustee keygen deliver ceremony.json announce-*.json --state me.state --out deliver-1.json
    tinget trustee keygen finish ceremony.json announce-*.json --delivery deliver-2.json … --state me.state
        --out confirm-1.json
    tinget trustee keygen complete ceremony.json announce-*.json --confirmation confirm-1.json … --out key.json

After the poll closes, each of at least k trustees checks the closed board and decrypts its aggregate:

    tinget trustee decrypt board.jsonl --state me.state --out partial-1.json
    tinget trustee combine board.jsonl partial-1.json partial-3.json --out record.jsonl

docs/verification.md ("Trustees") describes every file.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import click

from protocol import codec
from protocol.ballots import group, keygen, record, tally, verify
from protocol.ballots.keygen import Ceremony
from protocol.ballots.poll import PollError
from trustee.state import StateError, TrusteeState, load_state, save_state

MAX_FILE = 16 * 1024 * 1024
IN_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
OUT_FILE = click.Path(dir_okay=False, path_type=Path)
STATE_OPTION = click.option(
    "--state", "state_file", required=True, type=OUT_FILE, help="This trustee's private state file (mode 0600)."
)


def _read(path: Path) -> Any:
    try:
        return codec.decode(path.read_bytes(), max_size=MAX_FILE, canonical=False)
    except codec.DecodeError as exc:
        raise click.ClickException(f"{path} is not a JSON file: {exc}") from None


def _write(path: Path, data: object) -> None:
    path.write_bytes(codec.encode(data) + b"\n")
    click.echo(f"wrote {path}")


def _round(path: Path, expected: str, ceremony: Ceremony) -> Any:
    try:
        return keygen.round_body(_read(path), expected, ceremony.poll_id)
    except keygen.KeygenError as exc:
        raise click.ClickException(f"{path}: {exc}") from None


def _errors(func: Any) -> Any:
    """Domain errors become one-line messages and exit code 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (keygen.KeygenError, tally.TallyError, StateError, PollError) as exc:
            raise click.ClickException(str(exc)) from None
        except verify.RecordProblem as exc:
            raise click.ClickException(f"the board does not hold: {exc}") from None

    return wrapper


@click.group()
def trustee() -> None:
    """A trustee's key generation and partial decryption, on the trustee's own machine."""


@trustee.command("ceremony")
@click.option("--poll", "poll_id", required=True, help="The poll's id.")
@click.option("--threshold", required=True, type=int, help="How many trustees must take part in decrypting (k).")
@click.option("--trustee", "names", required=True, multiple=True, help="A trustee's name; repeat, in order (n).")
@click.option("--out", required=True, type=OUT_FILE)
@_errors
def ceremony_command(poll_id: str, threshold: int, names: tuple[str, ...], out: Path) -> None:
    """Describe a key generation: the poll, k and the n trustees (the hub normally writes this file)."""
    _write(out, Ceremony(poll_id, threshold, names).to_json())


@trustee.group("keygen")
def keygen_group() -> None:
    """The three rounds of the distributed key generation, and the final check."""


def _ceremony(path: Path) -> Ceremony:
    return Ceremony.from_json(_read(path))


def _announcements(ceremony: Ceremony, paths: tuple[Path, ...]) -> list[keygen.Announcement]:
    return [keygen.Announcement.from_json(_round(p, "announce", ceremony), ceremony) for p in paths]


@keygen_group.command("announce")
@click.argument("ceremony_file", type=IN_FILE)
@click.option("--me", required=True, type=int, help="This trustee's number (1..n, its place in the ceremony).")
@STATE_OPTION
@click.option("--out", required=True, type=OUT_FILE)
@_errors
def announce_command(ceremony_file: Path, me: int, state_file: Path, out: Path) -> None:
    """Round 1: make this trustee's secrets (into --state) and the announcement to publish."""
    ceremony = _ceremony(ceremony_file)
    if state_file.exists():
        raise click.ClickException(f"{state_file} exists: a trustee starts a key generation once per state file")
    secrets, announcement = keygen.start(ceremony, me)
    save_state(state_file, TrusteeState(ceremony, secrets))
    _write(out, keygen.round_file("announce", ceremony.poll_id, announcement.to_json()))


def _state_for(state_file: Path, ceremony: Ceremony) -> TrusteeState:
    state = load_state(state_file)
    if state.ceremony != ceremony:
        raise click.ClickException(f"{state_file} belongs to another ceremony")
    return state


@keygen_group.command("deliver")
@click.argument("ceremony_file", type=IN_FILE)
@click.argument("announcement_files", nargs=-1, required=True, type=IN_FILE)
@STATE_OPTION
@click.option("--out", required=True, type=OUT_FILE)
@_errors
def deliver_command(ceremony_file: Path, announcement_files: tuple[Path, ...], state_file: Path, out: Path) -> None:
    """Round 2: check every announcement, then seal each other trustee's share to its key."""
    ceremony = _ceremony(ceremony_file)
    state = _state_for(state_file, ceremony)
    announcements = _announcements(ceremony, announcement_files)
    sealed = keygen.deliver(ceremony, state.secrets, announcements)
    click.echo(
        f"transcript fingerprint {keygen.transcript_fingerprint(ceremony, announcements)[:16]}: compare it aloud"
    )
    body = {"from": state.secrets.index, "shares": {str(j): box for j, box in sealed.items()}}
    _write(out, keygen.round_file("deliver", ceremony.poll_id, body))


@keygen_group.command("finish")
@click.argument("ceremony_file", type=IN_FILE)
@click.argument("announcement_files", nargs=-1, required=True, type=IN_FILE)
@click.option("--delivery", "delivery_files", multiple=True, required=True, type=IN_FILE, help="Another's round 2.")
@STATE_OPTION
@click.option("--out", required=True, type=OUT_FILE)
@_errors
def finish_command(
    ceremony_file: Path,
    announcement_files: tuple[Path, ...],
    delivery_files: tuple[Path, ...],
    state_file: Path,
    out: Path,
) -> None:
    """Round 3: open and check the shares sent to this trustee, keep the key share, publish the confirmation."""
    ceremony = _ceremony(ceremony_file)
    state = _state_for(state_file, ceremony)
    me = state.secrets.index
    delivered: dict[int, str] = {}
    for path in delivery_files:
        body = _round(path, "deliver", ceremony)
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("from"), int)
            or not isinstance(body.get("shares"), dict)
        ):
            raise click.ClickException(f"{path} is not a delivery")
        if body["from"] != me:
            delivered[body["from"]] = body["shares"].get(str(me), "")
    share, confirmation = keygen.finish(
        ceremony, state.secrets, _announcements(ceremony, announcement_files), delivered
    )
    secrets = keygen.TrusteeSecrets(me, state.secrets.box_public, state.secrets.box_secret, ())
    save_state(state_file, TrusteeState(ceremony, secrets, share))  # the polynomial is no longer needed: dropped
    click.echo(f"transcript fingerprint {confirmation.transcript[:16]}: compare it aloud")
    _write(out, keygen.round_file("confirm", ceremony.poll_id, confirmation.to_json()))


@keygen_group.command("complete")
@click.argument("ceremony_file", type=IN_FILE)
@click.argument("announcement_files", nargs=-1, required=True, type=IN_FILE)
@click.option("--confirmation", "confirmation_files", multiple=True, required=True, type=IN_FILE)
@click.option("--out", required=True, type=OUT_FILE)
@_errors
def complete_command(
    ceremony_file: Path, announcement_files: tuple[Path, ...], confirmation_files: tuple[Path, ...], out: Path
) -> None:
    """Check every round and write the election key with its transcript (anyone may run this; the hub does)."""
    ceremony = _ceremony(ceremony_file)
    confirmations = [keygen.Confirmation.from_json(_round(p, "confirm", ceremony)) for p in confirmation_files]
    key = keygen.complete(ceremony, _announcements(ceremony, announcement_files), confirmations)
    click.echo(f"election key {group.to_hex(key.public_key)}")
    _write(out, key.to_json())


def _board(path: Path, jobs: int) -> verify.ClosedBoard:
    with path.open("rb") as stream:
        return verify.verify_board(stream, jobs)


@trustee.command("decrypt")
@click.argument("board_file", type=IN_FILE)
@STATE_OPTION
@click.option("--out", required=True, type=OUT_FILE)
@click.option("--head", help="The board head published on the public board: the file must end in it.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1, 64), help="Processes checking proofs.")
@_errors
def decrypt_command(board_file: Path, state_file: Path, out: Path, head: str | None, jobs: int) -> None:
    """Verify the closed board, then decrypt its aggregate (never a single ballot) with this trustee's share.

    Check that the board is the public one (--head, or compare the printed head with the public board): a board
    made up for you could hold one voter's ballot alone.
    """
    closed = _board(board_file, jobs)
    if head is not None and head != closed.head:
        raise click.ClickException("the board's head is not the published one: refusing to decrypt")
    state = load_state(state_file)
    if state.share is None:
        raise click.ClickException("this trustee's key generation has not finished (run keygen finish first)")
    if state.ceremony != closed.key.ceremony:
        raise click.ClickException("the board is for another poll or key generation than this state file")
    for check in closed.checks:
        click.echo(f"ok  {check}")
    click.echo(f"board head {closed.head}, {closed.counted} ballots counted: compare with the public board")
    if closed.counted == 0:
        raise click.ClickException("no ballot counts on this board: there is nothing to decrypt (the result is 0)")
    partial = tally.decrypt_share(closed.rules, closed.key, state.secrets.index, state.share, closed.aggregate)
    body = {"head": closed.head, "aggregate": tally.aggregate_to_json(closed.aggregate), "partial": partial.to_json()}
    _write(out, keygen.round_file("decrypt", closed.rules.poll_id, body))


@trustee.command("combine")
@click.argument("board_file", type=IN_FILE)
@click.argument("partial_files", nargs=-1, type=IN_FILE)
@click.option("--out", required=True, type=OUT_FILE)
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1, 64), help="Processes checking proofs.")
@_errors
def combine_command(board_file: Path, partial_files: tuple[Path, ...], out: Path, jobs: int) -> None:
    """Combine k partial decryptions into the result and write the full election record (the hub does this).

    A board on which no ballot counts takes no partial decryption: its result is all zeros (D66)."""
    closed = _board(board_file, jobs)
    partials = []
    for path in partial_files:
        body = _round(path, "decrypt", closed.key.ceremony)
        if not isinstance(body, dict) or body.get("head") != closed.head:
            raise click.ClickException(f"{path} decrypts another board (its head differs)")
        partials.append(tally.PartialDecryption.from_json(body.get("partial"), closed.rules))
    counts = tally.combine(closed.rules, closed.key, closed.aggregate, partials, closed.counted)
    result = record.Result(tuple(counts), closed.counted)
    line = record.tally_line(closed.head, closed.entries, closed.aggregate, partials, result)
    out.write_bytes(board_file.read_bytes() + codec.encode(line) + b"\n")
    for name, count in zip(closed.rules.options, counts, strict=True):
        click.echo(f"{count:>10}  {name}")
    click.echo(f"wrote {out}")
