"""Named polls at the hub (staff votes, D77, D78): created without roll or trustees, opened, fed by the
named-ballot ingest with every check, the re-vote rule by employee id, a public board with names, a plain count
and a record `tinget verify` accepts, also on the command line."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from hub.db import make_session_factory, unit_of_work, utcnow
from hub.ingest.handlers import ActionContext, ActionRefused, default_handlers
from hub.polls import ceremony, counting, drafts, keys, lifecycle, named, named_board, roll
from hub.polls.drafts import PollError
from hub.polls.sets import polls_content, roll_content
from hub.settings import HubSettings
from hub.staff import accounts, cards
from hub.staff.roles import Role
from protocol.ballots import verify
from protocol.ballots.named import NamedEnvelope
from protocol.polls import NAMED_BALLOT_KIND, PollsSet, named_ballot_body
from tests.hub import poll_helpers as ph
from tests.hub.helpers import write_config
from tests.hub.test_polls_cli import tinget
from tests.support.eid import EMPLOYEE_ID, Issuer
from tests.support.named import STAFF, device_sign, signed_envelope, staff_card

POLL = "personalfest-2027"
MEMBERS = {"karin": ("staff", Role.REGISTRAR), "olle": ("olle", Role.STAFF), "petra": ("petra", Role.IT)}


@pytest.fixture
def hub(settings: HubSettings, pki: Any, eid_issuer: Issuer) -> HubSettings:
    return dataclasses.replace(
        ph.poll_settings(settings, pki, eid_issuer), eid_staff_ca_file=eid_issuer.ca_dir / "issuing.pem"
    )


def add_members(session: Session) -> None:
    for username, (card, role) in MEMBERS.items():
        accounts.add_staff(
            session,
            username=username,
            display_name=username.capitalize(),
            password="korrekt häst batteri häftklammer",
            roles=(role,),
            totp_key=b"k" * 32,
            actor="test",
        )
        cards.set_employee_id(session, username=username, employee_id=STAFF[card][0], actor="test")


def named_spec(now: dt.datetime, **changes: Any) -> drafts.PollSpec:
    named = {"secret": False, "roles": ("registrar", "staff"), "method": "approval", "max_selections": 2}
    return ph.spec(now, **{**named, **changes})


def open_named(hub: HubSettings, now: dt.datetime, **changes: Any) -> None:
    engine = ph.engine_of(hub)
    with unit_of_work(make_session_factory(engine)) as session:
        add_members(session)
        drafts.create_poll(session, POLL, named_spec(now, **changes), actor="test")
        lifecycle.open_poll(session, POLL, actor="test", now=now)
    engine.dispose()


def action(env: NamedEnvelope, signer: Any, *, sender: str | None = None, body: Any = None) -> ActionContext:
    return ActionContext(
        device_id=sender or signer.device_id,
        msg_id=env.tracking_hash[:32],
        kind=NAMED_BALLOT_KIND,
        created_at_ms=env.ballot.cast_at,
        body=body if body is not None else named_ballot_body(env, signer.certificate_pem),
    )


def ingest(hub: HubSettings, act: ActionContext, now: dt.datetime, materials: Any = None) -> str:
    engine = ph.engine_of(hub)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            return named.handle_named_ballot(session, act, materials or named.load_named_materials(hub), now=now)
    finally:
        engine.dispose()


def cast(issuer: Issuer, card: str, chosen: tuple[int, ...], at: dt.datetime, signer: Any) -> NamedEnvelope:
    key = signer.key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return signed_envelope(staff_card(issuer, card), POLL, chosen, int(at.timestamp() * 1000), key, signer.device_id)


def test_a_named_poll_needs_no_roll_trustees_or_key_and_its_rules_are_checked(hub: HubSettings) -> None:
    now = utcnow()
    engine = ph.engine_of(hub)
    with unit_of_work(make_session_factory(engine)) as s:
        add_members(s)
        drafts.create_poll(s, POLL, named_spec(now), actor="t")
        with pytest.raises(PollError, match="named poll: it cannot be given a roll"):
            roll.import_roll(s, POLL, b"19121212-1212\n", roll_key=keys.roll_key(hub, POLL), actor="t")
        with pytest.raises(PollError, match="named poll: it cannot be given trustees"):
            ceremony.set_trustees(s, POLL, 1, ["olle"], actor="t")
        assert drafts.roles_of(drafts.get_poll(s, POLL)) == ["registrar", "staff"]
        with pytest.raises(PollError, match="stays named"):
            drafts.edit_poll(s, POLL, ph.spec(now), actor="t")
        drafts.edit_poll(s, POLL, named_spec(now, roles=("it", "staff", "it")), actor="t")
        assert drafts.roles_of(drafts.get_poll(s, POLL)) == ["it", "staff"]
        drafts.edit_poll(s, POLL, named_spec(now), actor="t")
        lifecycle.open_poll(s, POLL, actor="t", now=now)
    with unit_of_work(make_session_factory(engine)) as s:
        polls = PollsSet.from_json(polls_content(hub, s))
        assert polls.polls == () and polls.find_named(POLL) is not None
        assert polls.find_named(POLL).roles == ("registrar", "staff")
        assert POLL not in roll_content(s)["polls"]
    engine.dispose()


def _verify(body: bytes, folder: Path) -> verify.Verified:
    path = folder / "named.jsonl"
    path.write_bytes(body)
    return verify.verify_file(path)  # as `tinget verify` reads it


def test_the_ingest_checks_every_named_ballot_and_applies_the_re_vote_rule_by_employee(
    hub: HubSettings, pki: Any, eid_issuer: Issuer, tmp_path: Path
) -> None:
    now = utcnow()
    open_named(hub, now)
    ange, follinge = ph.device(pki, "ange"), ph.device(pki, "follinge")
    at = [now + dt.timedelta(seconds=s) for s in range(10)]
    karin = cast(eid_issuer, "staff", (0,), at[1], ange)
    assert ingest(hub, action(karin, ange), now) == "counted"
    assert ingest(hub, action(cast(eid_issuer, "olle", (0, 1), at[2], follinge), follinge), now) == "counted"
    assert ingest(hub, action(cast(eid_issuer, "staff", (1,), at[3], follinge), follinge), now) == "counted"
    with pytest.raises(ActionRefused, match="already on the board"):
        ingest(hub, action(karin, ange), now)
    petra = cast(eid_issuer, "petra", (0,), at[4], ange)  # IT: not a role of this poll
    assert ingest(hub, action(petra, ange), now) == "rejected"
    forged = dataclasses.replace(cast(eid_issuer, "olle", (1,), at[5], ange), card_signature="00" * 64)
    assert ingest(hub, action(device_sign(forged, ange.key), ange), now) == "rejected"
    assert ingest(hub, action(cast(eid_issuer, "olle", (1,), at[6], ange), ange, sender="follinge"), now) == "rejected"
    late = cast(eid_issuer, "olle", (1,), now + dt.timedelta(days=2), ange)
    assert ingest(hub, action(late, ange), now) == "rejected"
    bad = {"envelope": {"ballot": {"poll": POLL}}, "device_certificate": ange.certificate_pem}
    assert ingest(hub, action(karin, ange, body=bad), now) == "rejected"
    no_staff_cas = dataclasses.replace(named.load_named_materials(hub), staff_issuers=frozenset())
    olle = cast(eid_issuer, "olle", (1,), at[7], ange)
    assert ingest(hub, action(olle, ange), now, no_staff_cas) == "rejected"

    engine = ph.engine_of(hub)
    with unit_of_work(make_session_factory(engine)) as s:
        rows = named_board.named_rows(s, POLL)
        assert [r.status for r in rows] == ["superseded", "counted", "counted", *["rejected"] * 6]
        assert rows[0].name == "Karin Karlsson" and rows[0].employee_id == EMPLOYEE_ID
        assert all(r.chosen is None for r in rows)  # SEC-06: no choices before the close
        reasons = [r.reason for r in rows[3:]]
        assert reasons[0] == "the employee has none of the roles that vote in this poll"
        assert reasons[1] == "the card's signature does not hold"
        assert reasons[2] == "the ballot names another kiosk than the one that sent it"
        assert reasons[3] == "cast outside the poll's opening hours"
        assert reasons[4].startswith("unreadable")
        assert reasons[5] == "the card's issuer does not issue the municipality's staff cards"
        lifecycle.close_poll(s, POLL, actor="t", now=now + dt.timedelta(seconds=30))
    with unit_of_work(make_session_factory(engine)) as s:
        with pytest.raises(PollError, match="named poll: it cannot be decrypted by trustees"):
            counting.closed_board(s, POLL)
        rows = named_board.named_rows(s, POLL)
        assert rows[1].chosen == ("Parken", "Skolan") and rows[2].chosen == ("Skolan",)
        with pytest.raises(PollError, match="staff card authorities"):
            counting.publish(s, POLL, actor="t")
    with unit_of_work(make_session_factory(engine)) as s:
        counting.publish(s, POLL, actor="t", staff_cas=counting.staff_card_authorities(hub))
    with unit_of_work(make_session_factory(engine)) as s:
        poll = drafts.get_poll(s, POLL)
        assert poll.state == "published" and counting.result_of(poll) == counting.record.Result((1, 2), 2)
        body = counting.election_record(s, POLL)
    engine.dispose()
    verified = _verify(body, tmp_path)
    assert (verified.counts, verified.counted, verified.entries) == ((1, 2), 2, 9)
    with pytest.raises(ActionRefused, match="has been counted"):
        ingest(hub, action(cast(eid_issuer, "olle", (0,), at[8], ange), ange), now)


def test_named_and_secret_ballots_do_not_mix(hub: HubSettings, pki: Any, eid_issuer: Issuer) -> None:
    now = utcnow()
    ph.open_poll(hub, "budget-2027", now)
    open_named(hub, now)
    ange = ph.device(pki, "ange")
    env = signed_envelope(staff_card(eid_issuer, "staff"), "budget-2027", (0,), int(now.timestamp() * 1000), ange.key)
    with pytest.raises(ActionRefused, match="is secret"):
        ingest(hub, action(env, ange), now)
    engine = ph.engine_of(hub)
    with unit_of_work(make_session_factory(engine), write=False) as s:
        secret_notice = ph.notice(hub, s, "budget-2027")
    engine.dispose()
    secret = ph.envelope(hub, secret_notice, eid_issuer, ange, at=now + dt.timedelta(seconds=1))
    body = ph.action(secret, ange).body
    body["envelope"]["ballot"]["poll"] = POLL  # a secret ballot aimed at the named poll
    with pytest.raises(ActionRefused, match="named poll: it takes no secret ballot"):
        ph.ingest(hub, ph.action(secret, ange, body=body), now)
    assert isinstance(default_handlers(hub).find(NAMED_BALLOT_KIND), named.NamedBallotHandler)


def test_a_named_poll_from_draft_to_a_verified_record_on_the_command_line(
    hub: HubSettings, pki: Any, eid_issuer: Issuer, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path,
        database_url=hub.database_url,
        device_api_ca_file=pki.chain,
        device_api_revoked_file=pki.revoked_file,
        eid_ca_file=eid_issuer.ca_dir / "chain.pem",
        eid_crl_dir=eid_issuer.ca_dir / "crl",
        eid_staff_ca_file=eid_issuer.ca_dir / "issuing.pem",
    )
    c = ("--config", config)
    engine = ph.engine_of(hub)
    with unit_of_work(make_session_factory(engine)) as session:
        add_members(session)
    engine.dispose()
    now = utcnow()
    created = tinget("hub", "poll", "create", POLL, "--named", "--role", "staff", "--role", "registrar",
                     "--title-sv", "Personalfest", "--option", "lunch:Lunch", "--option", "middag:Middag",
                     "--opens", (now - dt.timedelta(hours=1)).isoformat(),
                     "--closes", (now + dt.timedelta(days=1)).isoformat(), *c)  # fmt: skip
    assert "namnomröstning" in created.stdout
    tinget("hub", "poll", "edit", POLL, "--all-staff", *c)
    assert "röstar: all personal på personallistan" in tinget("hub", "poll", "show", POLL, *c).stdout
    tinget("hub", "poll", "edit", POLL, "--role", "registrar", "--role", "staff", *c)
    assert "röstar: registrar, staff" in tinget("hub", "poll", "show", POLL, *c).stdout
    refused = tinget("hub", "poll", "roll", POLL, config, "--config", config, ok=False)
    assert refused.returncode == 1 and "named poll" in refused.stderr
    tinget("hub", "poll", "open", POLL, "--no-announce", *c)
    ange = ph.device(pki, "ange")
    for card, chosen, second in (("staff", (0,), 1), ("olle", (1,), 2)):
        ingest(hub, action(cast(eid_issuer, card, chosen, now + dt.timedelta(seconds=second), ange), ange), now)
    shown = tinget("hub", "poll", "show", POLL, *c)
    assert "Karin Karlsson <SE2321000255-test01> counted: (visas när omröstningen stängt)" in shown.stdout
    tinget("hub", "poll", "close", POLL, "--no-announce", *c)
    tinget("hub", "poll", "publish", POLL, *c)
    shown = tinget("hub", "poll", "show", POLL, *c)
    assert "Olle Olsson <SE2321000255-test02> counted: Middag" in shown.stdout and "published" in shown.stdout
    tinget("hub", "poll", "record", POLL, "--out", tmp_path / "record.jsonl", *c)
    verified = tinget("verify", tmp_path / "record.jsonl")
    assert "2 ballots counted" in verified.stdout and "card signature holds" in verified.stdout
    assert "every check holds" in verified.stdout


def test_a_ballot_the_kiosk_makes_from_the_hubs_polls_set_is_counted(
    hub: HubSettings, pki: Any, eid_issuer: Issuer
) -> None:
    """The contract end to end: the named poll as the polls set carries it, the kiosk's own `prepare`, the ingest."""
    from cryptography.hazmat.primitives import hashes, serialization

    from kiosk.voting.named import prepare

    now = utcnow()
    open_named(hub, now)
    engine = ph.engine_of(hub)
    with unit_of_work(make_session_factory(engine), write=False) as s:
        notice = PollsSet.from_json(polls_content(hub, s)).find_named(POLL)
    engine.dispose()
    assert notice is not None
    card = staff_card(eid_issuer, "olle")
    key = card.private_key()
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    ange = ph.device(pki, "ange")
    env = prepare(
        notice,
        frozenset({1}),
        employee_id=STAFF["olle"][0],
        certificate_der=card.certificate().public_bytes(serialization.Encoding.DER),
        card_sign=lambda data: key.sign(data, ec.ECDSA(hashes.SHA256())),
        device=ange,
        now=now + dt.timedelta(seconds=1),
    )
    assert ingest(hub, action(env, ange), now) == "counted"


def test_without_roles_every_member_votes_and_a_residents_card_cannot_vote_as_staff(
    hub: HubSettings, pki: Any, eid_issuer: Issuer
) -> None:
    now = utcnow()
    open_named(hub, now, roles=(), revote="first")
    ange = ph.device(pki, "ange")
    at = now + dt.timedelta(seconds=1)
    assert ingest(hub, action(cast(eid_issuer, "petra", (0,), at, ange), ange), now) == "counted"  # IT votes too
    again = cast(eid_issuer, "petra", (1,), at + dt.timedelta(seconds=1), ange)
    assert ingest(hub, action(again, ange), now) == "superseded"  # first counts
    anna = eid_issuer.card("anna")
    posing = signed_envelope(anna, POLL, (0,), int(at.timestamp() * 1000), ange.key, "ange", EMPLOYEE_ID)
    assert ingest(hub, action(posing, ange), now) == "rejected"
    engine = ph.engine_of(hub)
    with unit_of_work(make_session_factory(engine)) as s:
        rows = named_board.named_rows(s, POLL)
        assert rows[2].reason == "the card is not the staff card of the employee the ballot names"
        assert rows[2].name is None and rows[2].employee_id == EMPLOYEE_ID
    engine.dispose()
