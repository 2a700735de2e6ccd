"""``tinget hub poll …``: an election officer's and the trustees' commands on the hub (docs/voting.md).

hub/cli.py imports this module on its last lines, so the helpers it uses are already defined.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click
from sqlalchemy.orm import Session

from hub.cli import EXIT_BROKEN, _cli_actor, _fail, _ready_engine, _settings, config_option, hub, plain_errors
from hub.settings import HubSettings

F = TypeVar("F", bound=Callable[..., Any])
LOCAL = ZoneInfo("Europe/Stockholm")  # a time given without a zone is Swedish local time
MAX_FILE = 64 * 1024 * 1024
IN_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
OUT_FILE = click.Path(dir_okay=False, path_type=Path)
no_announce_option = click.option(
    "--no-announce", is_flag=True, help="Store the new set versions only; do not announce them over MQTT."
)
as_option = click.option("--as", "as_trustee", default=None, help="Check that the file is this trustee's (username).")


def poll_errors(command: F) -> F:
    """A poll rule that refuses becomes one line and exit code 1."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from hub.polls.drafts import PollError
        from protocol import codec

        try:
            return command(*args, **kwargs)
        except PollError as exc:
            _fail(str(exc), EXIT_BROKEN)
        except codec.DecodeError as exc:
            _fail(f"the file is not JSON: {exc}", EXIT_BROKEN)

    return wrapped  # type: ignore[return-value]


@contextmanager
def _session(config_path: Path | None) -> Iterator[tuple[HubSettings, Session]]:
    from hub.db import make_session_factory, unit_of_work

    settings = _settings(config_path)
    engine = _ready_engine(settings)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield settings, session
    finally:
        engine.dispose()


def _time(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date and time such as 2027-03-01T08:00") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=LOCAL)


def _read_json(path: Path) -> Any:
    from protocol import codec

    return codec.decode(path.read_bytes(), max_size=MAX_FILE, canonical=False)


def _write_json(path: Path, data: object) -> None:
    from protocol import codec

    path.write_bytes(codec.encode(data) + b"\n")
    click.echo(f"Skrev {path}")


def _options(texts: tuple[str, ...]) -> tuple[Any, ...]:
    from hub.polls.drafts import PollOption

    parsed = []
    for text in texts:
        parts = text.split(":")
        if len(parts) not in (2, 3) or not parts[0]:
            raise click.BadParameter(f"{text!r}: an option is NAME:SWEDISH LABEL[:ENGLISH LABEL]")
        parsed.append(PollOption(parts[0], parts[1], parts[2] if len(parts) == 3 else ""))
    return tuple(parsed)


@hub.group()
def poll() -> None:
    """Polls (omröstningar): drafts, roll, trustees and key ceremony, opening, closing, counting, record."""


@poll.command("create")
@click.argument("poll_id", metavar="POLL")
@click.option("--title-sv", required=True, help="The title in Swedish.")
@click.option("--title-en", default="", help="The title in English.")
@click.option("--description-sv", "description_sv", type=IN_FILE, default=None, help="Markdown file (Swedish).")
@click.option("--description-en", "description_en", type=IN_FILE, default=None, help="Markdown file (English).")
@click.option("--option", "options", multiple=True, help="NAME:SWEDISH LABEL[:ENGLISH LABEL]; repeat, in order.")
@click.option("--method", type=click.Choice(["single", "yes-no-abstain", "approval"]), default="single")
@click.option("--min", "minimum", type=int, default=1, help="Approval: the fewest options to choose.")
@click.option("--max", "maximum", type=int, default=1, help="Approval: the most options to choose.")
@click.option("--opens", required=True, help="When ballots may be cast, e.g. 2027-03-01T08:00 (Swedish time).")
@click.option("--closes", required=True, help="When casting ends.")
@click.option("--revote", type=click.Choice(["latest", "first"]), default="latest", help="Which ballot counts.")
@click.option("--min-age", type=int, default=None, help="Voters must be at least this old on the day they vote.")
@click.option("--named", is_flag=True, help="A named poll (staff vote): signed, plain, public by name; no roll, no "
              "trustees.")  # fmt: skip
@click.option("--role", "roles", multiple=True, help="Named poll: only staff with this role vote; repeat. None: all.")
@config_option
@plain_errors
@poll_errors
def poll_create(poll_id: str, title_sv: str, title_en: str, description_sv: Path | None, description_en: Path | None,
                options: tuple[str, ...], method: str, minimum: int, maximum: int, opens: str, closes: str,
                revote: str, min_age: int | None, named: bool, roles: tuple[str, ...],
                config_path: Path | None) -> None:  # fmt: skip
    """Create a draft poll (secret, or with --named a staff vote public by name)."""
    from hub.polls.drafts import PollSpec, create_poll

    spec = PollSpec(
        title_sv=title_sv,
        title_en=title_en,
        description_sv=description_sv.read_text(encoding="utf-8") if description_sv else "",
        description_en=description_en.read_text(encoding="utf-8") if description_en else "",
        opens_at=_time(opens),
        closes_at=_time(closes),
        options=_options(options),
        method=method,
        min_selections=minimum,
        max_selections=maximum,
        revote=revote,
        min_age=min_age,
        secret=not named,
        roles=roles,
    )
    with _session(config_path) as (_s, session):
        create_poll(session, poll_id, spec, actor=_cli_actor())
    kind = "namnomröstning (offentlig med namn), utkast" if named else "utkast"
    click.echo(f"Omröstningen {poll_id} är skapad som {kind}.")


@poll.command("edit")
@click.argument("poll_id", metavar="POLL")
@click.option("--title-sv", default=None)
@click.option("--title-en", default=None)
@click.option("--description-sv", "description_sv", type=IN_FILE, default=None, help="Markdown file (Swedish).")
@click.option("--description-en", "description_en", type=IN_FILE, default=None, help="Markdown file (English).")
@click.option("--option", "options", multiple=True, help="Replaces every option: NAME:SWEDISH[:ENGLISH]; repeat.")
@click.option("--method", type=click.Choice(["single", "yes-no-abstain", "approval"]), default=None)
@click.option("--min", "minimum", type=int, default=None)
@click.option("--max", "maximum", type=int, default=None)
@click.option("--opens", default=None)
@click.option("--closes", default=None)
@click.option("--revote", type=click.Choice(["latest", "first"]), default=None)
@click.option("--min-age", type=int, default=None, help="A new age limit (0: none).")
@click.option("--role", "roles", multiple=True, help="Named poll: replaces the voting roles; repeat.")
@click.option("--all-staff", is_flag=True, help="Named poll: every member on the staff list votes (no roles).")
@config_option
@plain_errors
@poll_errors
def poll_edit(poll_id: str, title_sv: str | None, title_en: str | None, description_sv: Path | None,
              description_en: Path | None, options: tuple[str, ...], method: str | None, minimum: int | None,
              maximum: int | None, opens: str | None, closes: str | None, revote: str | None, min_age: int | None,
              roles: tuple[str, ...], all_staff: bool, config_path: Path | None) -> None:  # fmt: skip
    """Change a draft poll; what is not given stays as it is. Refused once the poll has opened."""
    from hub.polls.drafts import PollSpec, edit_poll, get_poll, options_of, roles_of

    with _session(config_path) as (_s, session):
        item = get_poll(session, poll_id)
        spec = PollSpec(
            title_sv=item.title_sv if title_sv is None else title_sv,
            title_en=item.title_en if title_en is None else title_en,
            description_sv=description_sv.read_text(encoding="utf-8") if description_sv else item.description_sv,
            description_en=description_en.read_text(encoding="utf-8") if description_en else item.description_en,
            opens_at=item.opens_at if opens is None else _time(opens),
            closes_at=item.closes_at if closes is None else _time(closes),
            options=_options(options) if options else options_of(item),
            method=method or item.method,
            min_selections=item.min_selections if minimum is None else minimum,
            max_selections=item.max_selections if maximum is None else maximum,
            revote=revote or item.revote,
            min_age=item.min_age if min_age is None else (min_age or None),
            secret=item.secret,
            roles=() if all_staff else roles or tuple(roles_of(item)),
        )
        edit_poll(session, poll_id, spec, actor=_cli_actor())
    click.echo(f"Utkastet {poll_id} är ändrat.")


@poll.command("list")
@config_option
@plain_errors
def poll_list(config_path: Path | None) -> None:
    """List every poll with its state and schedule."""
    from hub.polls.drafts import list_polls

    with _session(config_path) as (_s, session):
        for item in list_polls(session):
            schedule = f"{item.opens_at:%Y-%m-%d %H:%M} – {item.closes_at:%Y-%m-%d %H:%M} UTC"
            click.echo(f"{item.id:<30} {item.state:<10} {schedule}  {item.title_sv}")


@poll.command("show")
@click.argument("poll_id", metavar="POLL")
@config_option
@plain_errors
@poll_errors
def poll_show(poll_id: str, config_path: Path | None) -> None:
    """Show a poll: rules, schedule, roll, trustees, key ceremony, board and (once counted) the result."""
    from hub.polls import ceremony, counting, drafts, roll

    with _session(config_path) as (_s, session):
        item = drafts.get_poll(session, poll_id)
        rules = drafts.rules_of(item)
        click.echo(f"{item.id}: {item.title_sv} ({item.state})")
        click.echo(f"  metod {rules.method} ({rules.min_selections}–{rules.max_selections}), omröstning {rules.revote}")
        for choice in drafts.options_of(item):
            click.echo(f"  - {choice.name}: {choice.sv}" + (f" / {choice.en}" if choice.en else ""))
        click.echo(f"  öppnar {item.opens_at.isoformat()}, stänger {item.closes_at.isoformat()}")
        if not item.secret:
            roles = ", ".join(drafts.roles_of(item)) or "all personal på personallistan"
            click.echo(f"  namnomröstning (offentlig med namn); röstar: {roles}")
            _show_named(session, item)
            return
        click.echo(f"  röstlängd {roll.roll_size(session, poll_id)}, åldersgräns {item.min_age or '-'}")
        names = drafts.trustees_of(item)
        if names:
            click.echo(f"  förtroendevalda nyckelinnehavare: {item.threshold} av {len(names)}: {', '.join(names)}")
            for kind, done in ceremony.ceremony_status(session, poll_id).items():
                click.echo(f"    {kind}: {', '.join(map(str, done)) or '-'}")
        click.echo(f"  valnyckel: {'klar' if item.election_key else 'saknas'}")
        click.echo(f"  anslagstavla: {item.board_size} poster, huvud {counting.head_of(item)}")
        result = counting.result_of(item)
        if result is not None:
            for option, count in zip(rules.options, result.counts, strict=True):
                click.echo(f"  {count:>8}  {option}")
            click.echo(f"  räknade valsedlar: {result.counted}")


def _show_named(session: Session, item: Any) -> None:
    from hub.polls import counting, named_board

    click.echo(f"  anslagstavla: {item.board_size} poster, huvud {counting.head_of(item)}")
    for row in named_board.named_rows(session, item.id):
        chosen = "(visas när omröstningen stängt)" if row.chosen is None else ", ".join(row.chosen) or "-"
        why = f" ({row.reason})" if row.reason else ""
        click.echo(f"  {row.seq:>4} {row.name or '-'} <{row.employee_id or '-'}> {row.status}{why}: {chosen}")
    result = counting.result_of(item)
    if result is not None:
        for choice, count in zip(drafts_options(item), result.counts, strict=True):
            click.echo(f"  {count:>8}  {choice}")
        click.echo(f"  räknade valsedlar: {result.counted}")


def drafts_options(item: Any) -> list[str]:
    from hub.polls.drafts import options_of

    return [choice.name for choice in options_of(item)]


@poll.command("roll")
@click.argument("poll_id", metavar="POLL")
@click.argument("source", type=IN_FILE)
@click.option("--replace", is_flag=True, help="Empty the roll first.")
@config_option
@plain_errors
@poll_errors
def poll_roll(poll_id: str, source: Path, replace: bool, config_path: Path | None) -> None:
    """Import the voter roll: a CSV file with one personnummer per line (only keyed hashes are kept)."""
    from hub.polls.keys import roll_key
    from hub.polls.roll import import_roll

    with _session(config_path) as (settings, session):
        report = import_roll(
            session,
            poll_id,
            source.read_bytes(),
            roll_key=roll_key(settings, poll_id),
            actor=_cli_actor(),
            replace=replace,
        )
    for row in report.rejected:
        click.echo(f"  rad {row.line}: {row.reason}", err=True)
    click.echo(
        f"Lade till {report.added}, redan med {report.already}, avvisade {len(report.rejected)} rader; "
        f"röstlängden har {report.total} röstberättigade."
    )


@poll.command("trustees")
@click.argument("poll_id", metavar="POLL")
@click.argument("usernames", nargs=-1, required=True)
@click.option("--threshold", "-k", required=True, type=int, help="How many trustees must decrypt together (k).")
@config_option
@plain_errors
@poll_errors
def poll_trustees(poll_id: str, usernames: tuple[str, ...], threshold: int, config_path: Path | None) -> None:
    """Name the trustees (staff usernames, in order: the first is trustee 1)."""
    from hub.polls.ceremony import set_trustees

    with _session(config_path) as (_s, session):
        set_trustees(session, poll_id, threshold, list(usernames), actor=_cli_actor())
    click.echo(f"{threshold} av {len(usernames)} nyckelinnehavare: {', '.join(usernames)}.")


@poll.command("ceremony")
@click.argument("poll_id", metavar="POLL")
@click.option("--out", type=OUT_FILE, default=None, help="Write ceremony.json here (what every trustee starts from).")
@click.option("--reset", is_flag=True, help="Throw away every round file and start the key generation again.")
@config_option
@plain_errors
@poll_errors
def poll_ceremony(poll_id: str, out: Path | None, reset: bool, config_path: Path | None) -> None:
    """Write the key ceremony's description, show which round files are in, or reset it."""
    from hub.polls import ceremony

    with _session(config_path) as (_s, session):
        if reset:
            ceremony.reset_ceremony(session, poll_id, actor=_cli_actor())
            click.echo("Nyckelceremonin är nollställd.")
        if out is not None:
            _write_json(out, ceremony.ceremony_json(session, poll_id))
        for kind, done in ceremony.ceremony_status(session, poll_id).items():
            click.echo(f"{kind}: {', '.join(map(str, done)) or '-'}")


@poll.command("upload")
@click.argument("poll_id", metavar="POLL")
@click.argument("files", nargs=-1, required=True, type=IN_FILE)
@as_option
@config_option
@plain_errors
@poll_errors
def poll_upload(poll_id: str, files: tuple[Path, ...], as_trustee: str | None, config_path: Path | None) -> None:
    """Take in trustees' key ceremony files (announce, deliver, confirm), each checked."""
    from hub.polls.ceremony import upload_round
    from hub.polls.drafts import get_poll

    with _session(config_path) as (_s, session):
        for path in files:
            kind, index = upload_round(session, poll_id, _read_json(path), actor=_cli_actor(), as_trustee=as_trustee)
            click.echo(f"{path.name}: {kind} från nyckelinnehavare {index} mottagen.")
        if get_poll(session, poll_id).election_key is not None:
            click.echo("Valnyckeln är klar.")


@poll.command("download")
@click.argument("poll_id", metavar="POLL")
@click.argument("what", type=click.Choice(["announce", "deliver", "confirm"]))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@config_option
@plain_errors
@poll_errors
def poll_download(poll_id: str, what: str, out_dir: Path, config_path: Path | None) -> None:
    """Write every trustee's file of a completed round (WHAT-1.json, …) into a folder."""
    from hub.polls.ceremony import round_files

    with _session(config_path) as (_s, session):
        files = round_files(session, poll_id, what)
    out_dir.mkdir(parents=True, exist_ok=True)
    for index, data in enumerate(files, start=1):
        _write_json(out_dir / f"{what}-{index}.json", data)


@poll.command("open")
@click.argument("poll_id", metavar="POLL")
@no_announce_option
@config_option
@plain_errors
@poll_errors
def poll_open(poll_id: str, no_announce: bool, config_path: Path | None) -> None:
    """Open a poll for ballots and republish the sets to the kiosks."""
    from hub.polls.lifecycle import open_and_publish

    settings = _settings(config_path)
    engine = _ready_engine(settings)
    try:
        open_and_publish(settings, engine, poll_id, actor=_cli_actor(), announce=not no_announce)
    finally:
        engine.dispose()
    click.echo(f"Omröstningen {poll_id} är öppen.")


def _close(poll_ids: list[str] | None, no_announce: bool, config_path: Path | None) -> list[str]:
    from hub.polls.lifecycle import close_and_publish

    settings = _settings(config_path)
    engine = _ready_engine(settings)
    try:
        return close_and_publish(settings, engine, poll_ids, actor=_cli_actor(), announce=not no_announce)
    finally:
        engine.dispose()


@poll.command("close")
@click.argument("poll_id", metavar="POLL")
@no_announce_option
@config_option
@plain_errors
@poll_errors
def poll_close(poll_id: str, no_announce: bool, config_path: Path | None) -> None:
    """Close a poll now (before its closing time, that time becomes now) and republish the sets."""
    _close([poll_id], no_announce, config_path)
    click.echo(f"Omröstningen {poll_id} är stängd.")


@poll.command("close-due")
@no_announce_option
@config_option
@plain_errors
@poll_errors
def poll_close_due(no_announce: bool, config_path: Path | None) -> None:
    """Close every open poll whose closing time has come (the systemd timer runs this)."""
    closed = _close(None, no_announce, config_path)
    click.echo(f"Stängde {', '.join(closed)}." if closed else "Ingen omröstning att stänga.")


@poll.command("board")
@click.argument("poll_id", metavar="POLL")
@click.option("--out", required=True, type=OUT_FILE)
@config_option
@plain_errors
@poll_errors
def poll_board(poll_id: str, out: Path, config_path: Path | None) -> None:
    """Write the closed board (for `tinget trustee decrypt`); refused before the poll is closed."""
    from hub.polls.counting import closed_board, head_of
    from hub.polls.drafts import get_poll

    with _session(config_path) as (_s, session):
        out.write_bytes(closed_board(session, poll_id))
        head = head_of(get_poll(session, poll_id))
    click.echo(f"Skrev {out}; anslagstavlans huvud {head}")


@poll.command("partial")
@click.argument("poll_id", metavar="POLL")
@click.argument("files", nargs=-1, required=True, type=IN_FILE)
@as_option
@config_option
@plain_errors
@poll_errors
def poll_partial(poll_id: str, files: tuple[Path, ...], as_trustee: str | None, config_path: Path | None) -> None:
    """Take in trustees' partial decryptions (from `tinget trustee decrypt`); with k of them the poll is counted."""
    from hub.polls.counting import upload_partial

    with _session(config_path) as (_s, session):
        for path in files:
            index, tallied = upload_partial(
                session, poll_id, _read_json(path), actor=_cli_actor(), as_trustee=as_trustee
            )
            click.echo(f"{path.name}: delvis dekryptering från nyckelinnehavare {index} godkänd.")
            if tallied:
                click.echo("Rösterna är räknade (visa resultatet med `tinget hub poll show`).")
                break


@poll.command("publish")
@click.argument("poll_id", metavar="POLL")
@config_option
@plain_errors
@poll_errors
def poll_publish(poll_id: str, config_path: Path | None) -> None:
    """Publish the result and the election record of a counted poll (a closed poll in which no ballot counts
    is counted here, without the trustees: every count is 0)."""
    from hub.polls.counting import publish, staff_card_authorities
    from hub.polls.drafts import get_poll

    with _session(config_path) as (settings, session):
        item = get_poll(session, poll_id)
        unvoted = item.state == "closed" and item.secret
        row = publish(session, poll_id, actor=_cli_actor(), staff_cas=staff_card_authorities(settings))
        digest = row.sha256
    if unvoted:
        click.echo("Ingen valsedel räknas: resultatet är noll för varje alternativ, utan dekryptering.")
    click.echo(f"Valprotokollet för {poll_id} är publicerat (SHA-256 {digest}).")


@poll.command("record")
@click.argument("poll_id", metavar="POLL")
@click.option("--out", required=True, type=OUT_FILE)
@config_option
@plain_errors
@poll_errors
def poll_record(poll_id: str, out: Path, config_path: Path | None) -> None:
    """Write the published election record (check it with `tinget verify`)."""
    from hub.polls.counting import election_record

    with _session(config_path) as (_s, session):
        body = election_record(session, poll_id)
    out.write_bytes(body)
    click.echo(f"Skrev {out} ({len(body)} byte, SHA-256 {hashlib.sha256(body).hexdigest()})")


from hub.polls import recheck_cli as _recheck_cli  # noqa: E402, F401 - adds `hub poll recheck`
