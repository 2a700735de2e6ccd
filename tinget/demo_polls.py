"""The demo's side of voting: three demo trustees and a voter roll with the demo cards, and `tinget demo trustees`.

In a real municipality each trustee runs `tinget trustee …` on their own machine and carries files to and from
the hub (docs/voting.md). In the demo one person plays all three, so `tinget demo trustees keygen POLL` and
`tinget demo trustees decrypt POLL` run exactly those commands for them, one trustee after the other, and hand
the files to the hub with `tinget hub poll upload|partial --as TRUSTEE`: the same checks as on the trustee page.
Each trustee's private state stays in its own file under ``var/demo/trustees/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click


@dataclass(frozen=True)
class DemoTrustee:
    """A demo staff member who holds a share of a poll's key."""

    username: str
    display_name: str


DEMO_TRUSTEES = (
    DemoTrustee("tove", "Tove Trädgård"),
    DemoTrustee("ulf", "Ulf Ulvsson"),
    DemoTrustee("vera", "Vera Vik"),
)
DEMO_THRESHOLD = 2


def roll_file(root: Path) -> Path:
    """The demo's voter roll (CSV of personnummer), for the officer to upload."""
    return root / "polls" / "rostlangd.csv"


def write_roll(root: Path, personnummer: list[str]) -> Path:
    """Write the demo roll (the demo cards' made-up personnummer) once; its path."""
    path = roll_file(root)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("personnummer\n" + "".join(f"{number}\n" for number in personnummer), encoding="utf-8")
    return path


def seed_trustees(hub_config: Path, password: str) -> None:
    """The three demo trustees' staff accounts (made once; the demo password, staff role)."""
    from hub.db import make_engine, make_session_factory, unit_of_work
    from hub.settings import derive_key, load_hub_settings, secret_key
    from hub.staff.accounts import add_staff, find_member_by_username
    from hub.staff.roles import parse_roles

    settings = load_hub_settings(hub_config)
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            for trustee in DEMO_TRUSTEES:
                if find_member_by_username(session, trustee.username) is None:
                    add_staff(
                        session,
                        username=trustee.username,
                        display_name=trustee.display_name,
                        password=password,
                        roles=parse_roles(["staff"]),
                        totp_key=derive_key(secret_key(settings), "totp secrets"),
                        actor="demo",
                    )
    finally:
        engine.dispose()


def _tinget(*args: str | Path) -> str:
    """Run one `tinget` command as a trustee or the hub's operator would; its output (or a one-line error)."""
    from tinget.demo import _run_cli

    return _run_cli([str(a) for a in args])


class TrusteeDesk:
    """Where the demo keeps one poll's trustee files: ``ROOT/trustees/POLL/``."""

    def __init__(self, root: Path, poll_id: str) -> None:
        self.root = root
        self.poll_id = poll_id
        self.dir = root / "trustees" / poll_id
        self.hub_config = root / "hub.toml"

    def state(self, trustee: DemoTrustee) -> Path:
        return self.dir / f"{trustee.username}.state"

    def hub(self, command: str, *args: str | Path) -> str:
        """`tinget hub poll COMMAND POLL ARGS…` on the demo's hub."""
        return _tinget("hub", "poll", command, self.poll_id, *args, "--config", self.hub_config)


def keygen(root: Path, poll_id: str, echo=click.echo) -> None:  # type: ignore[no-untyped-def]
    """All three rounds of the key generation for the demo trustees, through the hub."""
    desk = TrusteeDesk(root, poll_id)
    desk.dir.mkdir(parents=True, exist_ok=True)
    ceremony = desk.dir / "ceremony.json"
    desk.hub("ceremony", "--out", ceremony)
    for index, trustee in enumerate(DEMO_TRUSTEES, start=1):
        if desk.state(trustee).exists():
            desk.state(trustee).unlink()  # a new ceremony starts from new secrets
        out = desk.dir / f"announce-{index}.json"
        _tinget(
            "trustee", "keygen", "announce", ceremony, "--me", str(index), "--state", desk.state(trustee), "--out", out
        )
        desk.hub("upload", out, "--as", trustee.username)
        echo(f"  {trustee.display_name}: omgång 1 (offentlig del med bevis) uppladdad")
    announced = desk.dir / "from-hub" / "announce"
    desk.hub("download", "announce", "--out", announced)
    announcements = sorted(announced.glob("announce-*.json"))
    for index, trustee in enumerate(DEMO_TRUSTEES, start=1):
        out = desk.dir / f"deliver-{index}.json"
        _tinget("trustee", "keygen", "deliver", ceremony, *announcements, "--state", desk.state(trustee), "--out", out)
        desk.hub("upload", out, "--as", trustee.username)
        echo(f"  {trustee.display_name}: omgång 2 (krypterade andelar till de andra) uppladdad")
    delivered = desk.dir / "from-hub" / "deliver"
    desk.hub("download", "deliver", "--out", delivered)
    deliveries = [arg for path in sorted(delivered.glob("deliver-*.json")) for arg in ("--delivery", str(path))]
    for index, trustee in enumerate(DEMO_TRUSTEES, start=1):
        out = desk.dir / f"confirm-{index}.json"
        _tinget(
            "trustee", "keygen", "finish", ceremony, *announcements, *deliveries,
            "--state", desk.state(trustee), "--out", out,
        )  # fmt: skip
        said = desk.hub("upload", out, "--as", trustee.username)
        echo(f"  {trustee.display_name}: omgång 3 (bekräftelse) uppladdad")
    if "Valnyckeln är klar" not in said:
        raise click.ClickException("the hub took every file but did not finish the election key")
    echo(f"Valnyckeln för {poll_id} är klar ({DEMO_THRESHOLD} av {len(DEMO_TRUSTEES)} behövs för att räkna).")


def decrypt(root: Path, poll_id: str, usernames: tuple[str, ...], echo=click.echo) -> None:  # type: ignore[no-untyped-def]
    """The chosen demo trustees check the closed board and decrypt its sum; the hub counts when k are in."""
    desk = TrusteeDesk(root, poll_id)
    chosen = (
        [t for t in DEMO_TRUSTEES if t.username in usernames] if usernames else list(DEMO_TRUSTEES[:DEMO_THRESHOLD])
    )
    unknown = set(usernames) - {t.username for t in DEMO_TRUSTEES}
    if unknown:
        raise click.ClickException(f"no demo trustee {sorted(unknown)[0]!r} (they are tove, ulf and vera)")
    board = desk.dir / "board.jsonl"
    desk.hub("board", "--out", board)
    for trustee in chosen:
        index = DEMO_TRUSTEES.index(trustee) + 1
        out = desk.dir / f"partial-{index}.json"
        _tinget("trustee", "decrypt", board, "--state", desk.state(trustee), "--out", out)
        said = desk.hub("partial", out, "--as", trustee.username)
        echo(f"  {trustee.display_name}: anslagstavlan kontrollerad, delvis dekryptering uppladdad")
        if "räknade" in said:
            echo(f"Rösterna i {poll_id} är räknade. Publicera resultatet på hubbens sida för omröstningen.")
            return
    raise click.ClickException(f"the hub needs {DEMO_THRESHOLD} trustees' partial decryptions to count")


@click.group("trustees")
def trustees_group() -> None:
    """Play the demo's three trustees (tove, ulf, vera): key generation and decryption for a poll."""


def _root(root: Path) -> Path:
    path = Path(root)
    if not (path / "hub.toml").exists():
        raise click.ClickException(f"there is no demo in {path}; start it with `make demo` first")
    return path


@trustees_group.command("keygen")
@click.argument("poll_id", metavar="POLL")
@click.pass_obj
def keygen_command(root: Path, poll_id: str) -> None:
    """Run the three key generation rounds for the demo trustees of POLL (after the officer named them)."""
    keygen(_root(root), poll_id)


@trustees_group.command("decrypt")
@click.argument("poll_id", metavar="POLL")
@click.option("--trustee", "usernames", multiple=True, help="Which trustees decrypt (default: the first two).")
@click.pass_obj
def decrypt_command(root: Path, poll_id: str, usernames: tuple[str, ...]) -> None:
    """The chosen trustees decrypt the closed POLL's sum, and the hub counts."""
    decrypt(_root(root), poll_id, usernames)
