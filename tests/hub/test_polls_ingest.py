"""The hub's ingest of ballots: real envelopes built as a kiosk builds them, every check, the board, the re-vote
rule across kiosks and the running aggregate (SEC-04, SEC-05, SEC-08, SEC-14)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.db import make_session_factory, unit_of_work, utcnow
from hub.ingest.handlers import ActionRefused, default_handlers
from hub.polls import board as hub_board
from hub.polls import drafts
from hub.polls.models import BoardRow
from hub.polls.sets import roll_content
from hub.settings import HubSettings
from protocol.ballots import ballot, board, tally
from protocol.ballots.envelope import Envelope
from protocol.polls import BALLOT_KIND, ballot_body, seal_certificate
from tests.hub import poll_helpers as ph
from tests.support.eid import ANNA_PERSONNUMMER, RUT_PERSONNUMMER, Issuer
from tests.support.pii import find_personnummer

POLL = "lekplats-2027"


@pytest.fixture
def hub(settings: HubSettings, pki: Any, eid_issuer: Issuer) -> HubSettings:
    return ph.poll_settings(settings, pki, eid_issuer)


@pytest.fixture
def opened(hub: HubSettings) -> dt.datetime:
    """The poll is open; casts happen after this moment (the cards are valid from a little before it)."""
    now = utcnow()
    ph.open_poll(hub, POLL, now)
    return now


def notice_for(hub: HubSettings, poll_id: str = POLL) -> Any:
    engine = ph.engine_of(hub)
    with unit_of_work(make_session_factory(engine), write=False) as session:
        result = ph.notice(hub, session, poll_id)
    engine.dispose()
    return result


def board_state(hub: HubSettings, poll_id: str = POLL) -> tuple[list[BoardRow], Any, Any]:
    engine = ph.engine_of(hub)
    with unit_of_work(make_session_factory(engine), write=False) as session:
        poll = drafts.get_poll(session, poll_id)
        rules = drafts.rules_of(poll)
        rows = hub_board.board_rows(session, poll_id)
        entries = hub_board.entries(session, poll_id, rules)
        aggregate = hub_board.running_aggregate(poll, rules)
        session.expunge_all()
    engine.dispose()
    return rows, entries, (rules, aggregate)


def assert_consistent(hub: HubSettings, poll_id: str = POLL) -> None:
    """Stored statuses and aggregate equal what the whole board recomputes; the chain links up."""
    rows, entries, (rules, aggregate) = board_state(hub, poll_id)
    assert [r.status for r in rows] == board.statuses(entries, rules.revote)
    counted = [e.ballot for e, r in zip(entries, rows, strict=True) if r.status == board.COUNTED]
    assert tally.aggregate_to_json(aggregate) == tally.aggregate_to_json(tally.aggregate_of(rules, counted))
    prev = board.genesis(poll_id)
    for row, entry in zip(rows, entries, strict=True):
        assert entry.prev == prev and row.hash == entry.hash
        prev = entry.hash


def test_a_valid_ballot_is_counted_and_its_voter_shows_as_voted(
    hub: HubSettings, opened: dt.datetime, pki: Any, eid_issuer: Issuer
) -> None:
    """SEC-08: the board's tracking code is the hash of exactly the ballot the kiosk stored."""
    signer = ph.device(pki, "ange")
    env = ph.envelope(hub, notice_for(hub), eid_issuer, signer, at=opened + dt.timedelta(seconds=5))
    assert ph.ingest(hub, ph.action(env, signer), opened + dt.timedelta(minutes=1)) == board.COUNTED
    rows, entries, _ = board_state(hub)
    assert rows[0].tracking == ballot.tracking_hash(env.ballot.encoded()) == env.tracking_hash
    assert entries[0].ballot == env.ballot
    engine = ph.engine_of(hub)
    with unit_of_work(make_session_factory(engine), write=False) as session:
        voted = roll_content(session)["polls"][POLL]["voted"]
    engine.dispose()
    assert voted == [env.pseudonym]
    assert_consistent(hub)


def test_the_ingest_registers_the_ballot_handler_when_it_has_its_settings(hub: HubSettings) -> None:
    assert default_handlers(hub).find(BALLOT_KIND) is not None
    assert default_handlers().find(BALLOT_KIND) is None


def _variants(hub: HubSettings, opened: dt.datetime, pki: Any, issuer: Issuer, tmp: Path) -> dict[str, Any]:
    """For each rejection reason: the action that earns it."""
    notice = notice_for(hub)
    ange, follinge, revoked = ph.device(pki, "ange"), ph.device(pki, "follinge"), ph.device(pki, "revoked-one")
    at = opened + dt.timedelta(seconds=30)

    def env(**kw: Any) -> Envelope:
        return ph.envelope(hub, notice, issuer, kw.pop("signer", ange), at=kw.pop("at", at), **kw)

    good = env()
    other_seal = seal_certificate(b"not even a certificate", bytes(32 * [9]))
    unsealed = ph.resign(dataclasses.replace(env(), sealed_certificate=other_seal), ange)
    bad_card = ph.resign(dataclasses.replace(env(), card_signature="30" * 35), ange)
    bad_device = dataclasses.replace(env(), device_signature=good.device_signature)
    b = ballot.cast_ballot(notice.rules, notice.key.public_key, frozenset({1}))
    swapped = dataclasses.replace(
        b, options=(b.options[0], dataclasses.replace(b.options[1], proof=b.options[0].proof))
    )
    bad_proof = ph.sign(hub, Envelope(swapped, good.pseudonym, "ange", good.cast_at), issuer, ange)
    unreadable = ballot_body(env(), ange.certificate_pem)
    del unreadable["envelope"]["format"]
    return {
        "cast outside the poll's opening hours": ph.action(env(at=opened + dt.timedelta(days=2)), ange),
        "the envelope names another kiosk than the one that sent it": ph.action(env(), ange, sender="follinge"),
        "the kiosk's certificate is another device's": ph.action(
            env(), ange, body=ballot_body(env(), follinge.certificate_pem)
        ),
        "the kiosk's certificate is revoked": ph.action(env(signer=revoked), revoked),
        "the kiosk's certificate does not chain to the device CA at cast time": ph.action(
            env(), ange, body=ballot_body(env(), ph.foreign_device_pem("ange", tmp))
        ),
        "the kiosk's signature does not hold": ph.action(bad_device, ange),
        "the voter's certificate cannot be opened with the hub's seal key": ph.action(unsealed, ange),
        "the voter's e-ID is refused (revoked)": ph.action(env(card="revoked"), ange),
        "the voter's e-ID is refused (expired)": ph.action(env(card="expired"), ange),
        "the voter's e-ID is refused (unknown-issuer)": ph.action(env(card="foreign"), ange),
        "the card is not a resident's e-ID": ph.action(env(card="staff", personnummer=ANNA_PERSONNUMMER), ange),
        "the card's signature does not hold": ph.action(bad_card, ange),
        "the pseudonym is not the card holder's": ph.action(env(personnummer=RUT_PERSONNUMMER), ange),
        "proof": ph.action(bad_proof, ange),
        "unreadable": ph.action(env(), ange, body=unreadable),
    }


def test_every_failed_check_puts_the_ballot_on_the_board_as_rejected_with_its_reason(
    hub: HubSettings, opened: dt.datetime, pki: Any, eid_issuer: Issuer, tmp_path: Path
) -> None:
    """SEC-04/SEC-19: each check has its own reason; nothing rejected is counted; the board stays consistent."""
    for expected, act in _variants(hub, opened, pki, eid_issuer, tmp_path).items():
        assert ph.ingest(hub, act, opened + dt.timedelta(minutes=5)) == board.REJECTED, expected
        rows, entries, _ = board_state(hub)
        reason = rows[-1].reason or ""
        assert reason.startswith(expected) or expected in reason, (expected, reason)
        assert entries[-1].ballot is None
    rows, _entries, (_rules, _aggregate) = board_state(hub)
    assert {r.status for r in rows} == {board.REJECTED}
    assert_consistent(hub)


def test_the_roll_and_the_age_limit_are_checked(
    hub: HubSettings, opened: dt.datetime, pki: Any, eid_issuer: Issuer
) -> None:
    ph.open_poll(hub, "bara-rut", opened, voters=(RUT_PERSONNUMMER,), trustees=False)
    ph.open_poll(hub, "seniorer", opened, trustees=False, min_age=60)
    ange = ph.device(pki, "ange")
    at = opened + dt.timedelta(seconds=10)
    not_on_roll = ph.envelope(hub, notice_for(hub, "bara-rut"), eid_issuer, ange, at=at)
    too_young = ph.envelope(hub, notice_for(hub, "seniorer"), eid_issuer, ange, at=at)
    rut = ph.envelope(hub, notice_for(hub, "bara-rut"), eid_issuer, ange, card="rut", at=at)
    assert ph.ingest(hub, ph.action(not_on_roll, ange), at) == board.REJECTED
    assert ph.ingest(hub, ph.action(too_young, ange), at) == board.REJECTED
    assert ph.ingest(hub, ph.action(rut, ange), at) == board.COUNTED  # an RSA card
    assert board_state(hub, "bara-rut")[0][0].reason == "the voter is not on the roll"
    assert board_state(hub, "seniorer")[0][0].reason == "the voter is younger than the poll's age limit"


def test_a_duplicate_an_unknown_poll_and_a_draft_are_refused_not_put_on_the_board(
    hub: HubSettings, opened: dt.datetime, pki: Any, eid_issuer: Issuer
) -> None:
    ange = ph.device(pki, "ange")
    env = ph.envelope(hub, notice_for(hub), eid_issuer, ange, at=opened + dt.timedelta(seconds=3))
    ph.ingest(hub, ph.action(env, ange), opened)
    with pytest.raises(ActionRefused, match="already on the board"):
        ph.ingest(hub, ph.action(env, ange), opened)
    body = json.loads(json.dumps(ballot_body(env, ange.certificate_pem)))
    body["envelope"]["ballot"]["poll"] = "ingen-sadan"
    with pytest.raises(ActionRefused, match="no open poll"):
        ph.ingest(hub, ph.action(env, ange, body=body), opened)
    engine = ph.engine_of(hub)
    with unit_of_work(make_session_factory(engine)) as session:
        drafts.create_poll(session, "utkast", ph.spec(opened), actor="test")
    engine.dispose()
    body["envelope"]["ballot"]["poll"] = "utkast"
    with pytest.raises(ActionRefused, match="no open poll"):
        ph.ingest(hub, ph.action(env, ange, body=body), opened)
    assert len(board_state(hub)[0]) == 1


@pytest.mark.parametrize("rule", ["latest", "first"])
def test_a_revote_at_two_kiosks_counts_once_by_the_polls_rule_whatever_arrives_first(
    hub: HubSettings, pki: Any, eid_issuer: Issuer, rule: str
) -> None:
    """SEC-04: both kiosks were offline; the later-cast ballot arrives first."""
    now = utcnow()
    ph.open_poll(hub, POLL, now, revote=rule)
    notice = notice_for(hub)
    ange, follinge = ph.device(pki, "ange"), ph.device(pki, "follinge")
    early = ph.envelope(hub, notice, eid_issuer, ange, chosen=frozenset({0}), at=now + dt.timedelta(seconds=10))
    late = ph.envelope(hub, notice, eid_issuer, follinge, chosen=frozenset({1}), at=now + dt.timedelta(seconds=20))
    ph.ingest(hub, ph.action(late, follinge), now + dt.timedelta(minutes=1))
    ph.ingest(hub, ph.action(early, ange), now + dt.timedelta(minutes=2))
    rows, _entries, _ = board_state(hub)
    winner = late if rule == "latest" else early
    assert {r.tracking: r.status for r in rows} == {
        winner.tracking_hash: board.COUNTED,
        (early if winner is late else late).tracking_hash: board.SUPERSEDED,
    }
    assert_consistent(hub)


def test_the_running_aggregate_equals_the_recomputed_one_for_any_arrival_order(
    hub: HubSettings, opened: dt.datetime, pki: Any, eid_issuer: Issuer
) -> None:
    """SEC-04: random casts by two voters at three kiosks, delivered in a random order."""
    notice = notice_for(hub)
    signers = [ph.device(pki, d) for d in ("ange", "follinge")]
    rng = random.Random(6)
    casts = []
    for n in range(8):
        signer = rng.choice(signers)
        card = rng.choice(["anna", "rut"])
        at = opened + dt.timedelta(seconds=rng.randrange(1, 600))
        casts.append(
            (ph.envelope(hub, notice, eid_issuer, signer, card=card, chosen=frozenset({n % 2}), at=at), signer)
        )
    rng.shuffle(casts)
    for env, signer in casts:
        ph.ingest(hub, ph.action(env, signer), opened + dt.timedelta(hours=1))
    rows, _entries, _ = board_state(hub)
    assert sum(r.status == board.COUNTED for r in rows) == len({r.voter for r in rows})
    assert_consistent(hub)


def test_no_personnummer_or_certificate_is_stored(
    hub: HubSettings, opened: dt.datetime, pki: Any, eid_issuer: Issuer
) -> None:
    """SEC-14: the board and the roll hold pseudonyms only."""
    ange = ph.device(pki, "ange")
    env = ph.envelope(hub, notice_for(hub), eid_issuer, ange, at=opened + dt.timedelta(seconds=2))
    ph.ingest(hub, ph.action(env, ange), opened)
    engine = ph.engine_of(hub)
    with engine.connect() as conn:
        texts = [
            str(row)
            for table in ("poll_board", "poll_roll", "polls", "audit_entries")
            for row in conn.exec_driver_sql(f"SELECT * FROM {table}")  # noqa: S608 - fixed names
        ]
    engine.dispose()
    assert not find_personnummer("\n".join(texts))
    assert env.sealed_certificate not in "\n".join(texts)
    assert all(not r.reason for r in board_state(hub)[0])
    engine = ph.engine_of(hub)
    with unit_of_work(make_session_factory(engine), write=False) as session:
        assert session.scalars(select(BoardRow.voter)).all() == [env.pseudonym]
    engine.dispose()


def test_a_receipts_short_or_full_code_finds_its_board_entry(
    hub: HubSettings, opened: dt.datetime, pki: Any, eid_issuer: Issuer
) -> None:
    """What the public board page at /val/<poll>?kod=… looks up (SEC-08)."""
    ange = ph.device(pki, "ange")
    env = ph.envelope(hub, notice_for(hub), eid_issuer, ange, at=opened + dt.timedelta(seconds=2))
    ph.ingest(hub, ph.action(env, ange), opened)
    engine = ph.engine_of(hub)
    with unit_of_work(make_session_factory(engine), write=False) as session:
        short = ballot.short_code(env.tracking_hash)
        for code in (short, short.lower().replace("-", ""), env.tracking_hash):
            found = hub_board.find_code(session, POLL, code)
            assert found is not None and found.tracking == env.tracking_hash and found.status == board.COUNTED
        assert hub_board.find_code(session, POLL, "AAAA-BBBB-CCCC-DDDD") is None
    engine.dispose()
