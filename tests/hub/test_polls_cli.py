"""A whole 2-of-3 poll on the command line, as an election officer and three trustees run it: `tinget hub poll …`
and `tinget trustee …` as subprocesses, ballots from real envelopes through the ingest handler, and a record that
`tinget verify` accepts (SEC-05, SEC-06, SEC-09)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

from hub.db import make_session_factory, unit_of_work, utcnow
from hub.settings import HubSettings
from tests.hub import poll_helpers as ph
from tests.hub.helpers import write_config
from tests.support.eid import ANNA_PERSONNUMMER, RUT_PERSONNUMMER, Issuer

POLL = "bibliotek-2027"


def tinget(*args: str | Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "tinget.cli", *map(str, args)], capture_output=True, text=True, check=False, timeout=300
    )
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_a_poll_from_draft_to_a_verified_record_on_the_command_line(
    settings: HubSettings, pki: Any, eid_issuer: Issuer, tmp_path: Path
) -> None:
    hub = ph.poll_settings(settings, pki, eid_issuer)
    config = write_config(
        tmp_path,
        database_url=hub.database_url,
        device_api_ca_file=pki.chain,
        device_api_revoked_file=pki.revoked_file,
        eid_ca_file=eid_issuer.ca_dir / "chain.pem",
        eid_crl_dir=eid_issuer.ca_dir / "crl",
    )
    c = ("--config", config)
    engine = ph.engine_of(hub)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        ph.add_trustees(session)
    now = utcnow()
    tinget("hub", "poll", "create", POLL, "--title-sv", "Nytt bibliotek", "--option", "ja:Ja:Yes",
           "--option", "nej:Nej:No", "--opens", (now - dt.timedelta(hours=1)).isoformat(),
           "--closes", (now + dt.timedelta(days=1)).isoformat(), *c)  # fmt: skip
    tinget("hub", "poll", "edit", POLL, "--title-en", "A new library", "--min-age", "16", *c)
    roll_file = tmp_path / "rostlangd.csv"
    roll_file.write_text(f"personnummer\n{ANNA_PERSONNUMMER}\n{RUT_PERSONNUMMER}\n19121212-1213\n", encoding="utf-8")
    imported = tinget("hub", "poll", "roll", POLL, roll_file, *c)
    assert "rad 4:" in imported.stderr and "19121212" not in imported.stderr + imported.stdout
    refused = tinget("hub", "poll", "open", POLL, "--no-announce", *c, ok=False)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "no election key" in refused.stderr
    tinget("hub", "poll", "trustees", POLL, "-k", "2", *ph.TRUSTEES, *c)

    desk = {i: tmp_path / f"trustee-{i}" for i in (1, 2, 3)}  # each trustee's own machine
    for folder in desk.values():
        folder.mkdir()
        tinget("hub", "poll", "ceremony", POLL, "--out", folder / "ceremony.json", *c)
    for i, folder in desk.items():
        tinget("trustee", "keygen", "announce", folder / "ceremony.json", "--me", str(i),
               "--state", folder / "me.state", "--out", folder / "announce.json")  # fmt: skip
        tinget("hub", "poll", "upload", POLL, folder / "announce.json", "--as", ph.TRUSTEES[i - 1], *c)
    for folder in desk.values():
        tinget("hub", "poll", "download", POLL, "announce", "--out", folder / "in", *c)
        announced = sorted((folder / "in").glob("announce-*.json"))
        tinget("trustee", "keygen", "deliver", folder / "ceremony.json", *announced,
               "--state", folder / "me.state", "--out", folder / "deliver.json")  # fmt: skip
        tinget("hub", "poll", "upload", POLL, folder / "deliver.json", *c)
    for folder in desk.values():
        tinget("hub", "poll", "download", POLL, "deliver", "--out", folder / "in", *c)
        announced = sorted((folder / "in").glob("announce-*.json"))
        deliveries = [a for p in sorted((folder / "in").glob("deliver-*.json")) for a in ("--delivery", p)]
        tinget("trustee", "keygen", "finish", folder / "ceremony.json", *announced, *deliveries,
               "--state", folder / "me.state", "--out", folder / "confirm.json")  # fmt: skip
    uploaded = tinget("hub", "poll", "upload", POLL, *(folder / "confirm.json" for folder in desk.values()), *c)
    assert "Valnyckeln är klar" in uploaded.stdout
    tinget("hub", "poll", "open", POLL, "--no-announce", *c)
    frozen = tinget("hub", "poll", "edit", POLL, "--revote", "first", *c, ok=False)
    assert frozen.returncode == 1 and "is open: it cannot be edited" in frozen.stderr

    with unit_of_work(factory, write=False) as session:
        notice = ph.notice(hub, session, POLL)
    ange, follinge = ph.device(pki, "ange"), ph.device(pki, "follinge")
    casts = [("anna", 0, ange, 1), ("rut", 1, follinge, 2), ("anna", 1, follinge, 3)]  # anna changes her mind
    for card, chosen, signer, second in casts:
        env = ph.envelope(hub, notice, eid_issuer, signer, card=card, chosen=frozenset({chosen}),
                          at=now + dt.timedelta(seconds=second))  # fmt: skip
        ph.ingest(hub, ph.action(env, signer), now)
    engine.dispose()
    early = tinget("hub", "poll", "board", POLL, "--out", tmp_path / "board.jsonl", *c, ok=False)
    assert early.returncode == 1 and "is open" in early.stderr  # SEC-06
    tinget("hub", "poll", "close", POLL, "--no-announce", *c)

    shown = tinget("hub", "poll", "board", POLL, "--out", tmp_path / "board.jsonl", *c)
    head = shown.stdout.split()[-1]
    for i in (1, 3):
        tinget("trustee", "decrypt", tmp_path / "board.jsonl", "--state", desk[i] / "me.state",
               "--head", head, "--out", desk[i] / "partial.json")  # fmt: skip
    counted = tinget("hub", "poll", "partial", POLL, desk[1] / "partial.json", desk[3] / "partial.json", *c)
    assert "räknade" in counted.stdout
    tinget("hub", "poll", "publish", POLL, *c)
    tinget("hub", "poll", "record", POLL, "--out", tmp_path / "record.jsonl", *c)
    verified = tinget("verify", tmp_path / "record.jsonl")
    assert "nej" in verified.stdout
    show = tinget("hub", "poll", "show", POLL, *c)
    assert "published" in show.stdout and "räknade valsedlar: 2" in show.stdout
    listed = tinget("hub", "poll", "list", *c)
    assert POLL in listed.stdout
