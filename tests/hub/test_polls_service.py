"""The polls' service rules: drafts, the roll, trustees and the key ceremony relay, opening and closing, the
sets kiosks receive, counting and the record (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import stat
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from hub.audit import log as audit_log
from hub.db import make_session_factory, unit_of_work, utcnow
from hub.ingest.handlers import ActionContext, ActionRefused, ActionUnchecked, default_handlers
from hub.polls import ceremony, counting, drafts, keys, lifecycle, roll
from hub.polls.drafts import PollError
from hub.polls.sets import polls_content, roll_content
from hub.settings import HubSettings
from protocol.ballots import keygen, tally, verify
from protocol.polls import BALLOT_KIND, PollsSet, roll_from_json
from tests.hub import poll_helpers as ph
from tests.support.eid import ANNA_PERSONNUMMER, RUT_PERSONNUMMER, Issuer
from tests.support.pii import find_personnummer

POLL = "budget-2027"


@pytest.fixture
def hub(settings: HubSettings, pki: Any, eid_issuer: Issuer) -> HubSettings:
    return ph.poll_settings(settings, pki, eid_issuer)


@pytest.fixture
def session(hub: HubSettings) -> Iterator[Session]:
    """One unit of work for the test (committed at the end)."""
    engine = ph.engine_of(hub)
    with unit_of_work(make_session_factory(engine)) as s:
        yield s
    engine.dispose()


def test_a_draft_is_checked_when_created(session: Session) -> None:
    now = utcnow()
    with pytest.raises(PollError, match="poll id"):
        drafts.create_poll(session, "Budget 2027", ph.spec(now), actor="t")
    with pytest.raises(PollError, match="open before it closes"):
        drafts.create_poll(session, POLL, ph.spec(now, closes_at=now - dt.timedelta(days=2)), actor="t")
    with pytest.raises(PollError, match="only a named poll has voting roles"):
        drafts.create_poll(session, POLL, ph.spec(now, roles=("staff",)), actor="t")
    with pytest.raises(PollError, match="no age limit"):
        drafts.create_poll(session, POLL, ph.spec(now, secret=False, min_age=18), actor="t")
    with pytest.raises(PollError, match="unknown role"):
        drafts.create_poll(session, POLL, ph.spec(now, secret=False, roles=("mayor",)), actor="t")
    with pytest.raises(PollError, match="selections"):
        drafts.create_poll(
            session, POLL, ph.spec(now, method="approval", min_selections=0, max_selections=3), actor="t"
        )
    poll = drafts.create_poll(session, "ja-nej", ph.spec(now, method="yes-no-abstain", options=()), actor="t")
    assert drafts.rules_of(poll).options == ("yes", "no", "abstain")
    assert drafts.drafts_labels(poll)["sv"] == ("Ja", "Nej", "Avstår")
    with pytest.raises(PollError, match="already"):
        drafts.create_poll(session, "ja-nej", ph.spec(now), actor="t")


def test_the_roll_keeps_pseudonyms_and_reports_bad_rows_by_line_without_their_content(
    hub: HubSettings, session: Session
) -> None:
    """SEC-14: no personnummer in the database, the report or the audit log."""
    drafts.create_poll(session, POLL, ph.spec(utcnow()), actor="t")
    data = f"personnummer\n{ANNA_PERSONNUMMER}\n\n19850412-2387\nhej\n{ANNA_PERSONNUMMER}\n{RUT_PERSONNUMMER}\n"
    report = roll.import_roll(session, POLL, data.encode(), roll_key=keys.roll_key(hub, POLL), actor="t")
    assert (report.added, report.already, report.total) == (2, 1, 2)
    assert [r.line for r in report.rejected] == [4, 5]
    assert not find_personnummer(" ".join(r.reason for r in report.rejected))
    assert "19850412" not in " ".join(r.reason for r in report.rejected)
    assert all(len(p) == 64 for p in roll.roll_pseudonyms(session, POLL))
    semicolons = f"{RUT_PERSONNUMMER};Rut\n".encode()
    again = roll.import_roll(session, POLL, semicolons, roll_key=keys.roll_key(hub, POLL), actor="t", replace=True)
    assert (again.added, again.total) == (1, 1)
    exported = "\n".join(audit_log.export_lines(session))
    assert "poll.roll_imported" in exported and not find_personnummer(exported)


def test_a_roll_file_the_csv_module_cannot_read_is_refused_whole_with_its_line(
    hub: HubSettings, session: Session
) -> None:
    drafts.create_poll(session, POLL, ph.spec(utcnow()), actor="t")
    data = f"{ANNA_PERSONNUMMER}\n{'1' * 200_000}\n".encode()
    with pytest.raises(PollError, match="line 2 of the roll file cannot be read as CSV"):
        roll.import_roll(session, POLL, data, roll_key=keys.roll_key(hub, POLL), actor="t")
    assert roll.roll_size(session, POLL) == 0


def test_the_hubs_poll_secrets_are_made_once_and_private(hub: HubSettings) -> None:
    seal = keys.seal_key(hub)
    assert keys.seal_key(hub) == seal and len(seal.public) == 32 and "secret" not in repr(seal)
    assert keys.roll_key(hub, "a-poll") != keys.roll_key(hub, "b-poll")
    for path in (hub.poll_seal_key_file, hub.poll_roll_secret_file):
        assert path is not None and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_trustees_must_be_staff_and_the_ceremony_opens_round_by_round(session: Session) -> None:
    drafts.create_poll(session, POLL, ph.spec(utcnow()), actor="t")
    with pytest.raises(PollError, match="no staff account"):
        ceremony.set_trustees(session, POLL, 2, ["anna", "bo", "cy"], actor="t")
    ph.add_trustees(session)
    with pytest.raises(PollError, match="threshold"):
        ceremony.set_trustees(session, POLL, 4, list(ph.TRUSTEES), actor="t")
    ceremony.set_trustees(session, POLL, 2, list(ph.TRUSTEES), actor="t")
    cer = keygen.Ceremony.from_json(ceremony.ceremony_json(session, POLL))
    _secrets, announcement = keygen.start(cer, 1)
    with pytest.raises(PollError, match="round deliver opens"):
        ceremony.upload_round(
            session, POLL, keygen.round_file("deliver", POLL, {"from": 1, "shares": {"2": "", "3": ""}}), actor="anna"
        )
    with pytest.raises(PollError, match="expected a file"):
        ceremony.upload_round(
            session, POLL, keygen.round_file("announce", "other", announcement.to_json()), actor="anna"
        )
    with pytest.raises(PollError, match="not that trustee"):
        ceremony.upload_round(
            session, POLL, keygen.round_file("announce", POLL, announcement.to_json()), actor="bo", as_trustee="bo"
        )
    ceremony.upload_round(session, POLL, keygen.round_file("announce", POLL, announcement.to_json()), actor="anna")
    with pytest.raises(PollError, match="already in"):
        ceremony.upload_round(session, POLL, keygen.round_file("announce", POLL, announcement.to_json()), actor="anna")
    with pytest.raises(PollError, match="not complete"):
        ceremony.round_files(session, POLL, "announce")
    with pytest.raises(PollError, match="ceremony has begun"):
        ceremony.set_trustees(session, POLL, 2, ["bo", "cy", "anna"], actor="t")
    ceremony.reset_ceremony(session, POLL, actor="t")
    assert ceremony.ceremony_status(session, POLL) == {"announce": [], "deliver": [], "confirm": []}
    ph.relay_ceremony(session, POLL)
    key = drafts.key_of(drafts.get_poll(session, POLL))
    assert key.ceremony == cer


def test_opening_needs_a_key_and_a_roll_and_then_freezes_the_rules(hub: HubSettings, session: Session) -> None:
    now = utcnow()
    drafts.create_poll(session, POLL, ph.spec(now), actor="t")
    with pytest.raises(PollError, match="no election key"):
        lifecycle.open_poll(session, POLL, actor="t")
    ph.add_trustees(session)
    ceremony.set_trustees(session, POLL, 2, list(ph.TRUSTEES), actor="t")
    ph.relay_ceremony(session, POLL)
    with pytest.raises(PollError, match="empty roll"):
        lifecycle.open_poll(session, POLL, actor="t")
    roll.import_roll(session, POLL, ANNA_PERSONNUMMER.encode(), roll_key=keys.roll_key(hub, POLL), actor="t")
    lifecycle.open_poll(session, POLL, actor="t")
    with pytest.raises(PollError, match="is open: it cannot be edited"):
        drafts.edit_poll(session, POLL, ph.spec(now, revote="first"), actor="t")
    with pytest.raises(PollError, match="cannot be given a new roll"):
        roll.import_roll(session, POLL, RUT_PERSONNUMMER.encode(), roll_key=keys.roll_key(hub, POLL), actor="t")
    with pytest.raises(PollError, match="cannot be given trustees"):
        ceremony.set_trustees(session, POLL, 1, ["anna"], actor="t")
    actions = [json.loads(line)["action"] for line in audit_log.export_lines(session)]
    assert {"poll.created", "poll.trustees_set", "poll.key_created", "poll.roll_imported", "poll.opened"} <= set(
        actions
    )


def test_the_sets_carry_the_open_polls_their_rolls_and_the_seal_key(hub: HubSettings, session: Session) -> None:
    now = utcnow()
    drafts.create_poll(session, "ett-utkast", ph.spec(now), actor="t")
    session.commit()
    ph.open_poll(hub, POLL, now)
    polls = PollsSet.from_json(polls_content(hub, session))
    assert [p.poll_id for p in polls.polls] == [POLL] and polls.seal_key == keys.seal_key(hub).public
    notice = polls.polls[0]
    assert notice.board_url == f"{hub.public_url}/val/{POLL}"
    assert notice.labels("en") == ("The park", "The school") and notice.roll_key == keys.roll_key(hub, POLL)
    rolls = roll_from_json(roll_content(session))
    assert len(rolls[POLL].eligible) == 4 and rolls[POLL].voted == frozenset()


def test_closing_early_moves_the_closing_time_and_close_due_closes_only_what_is_due(hub: HubSettings) -> None:
    now = utcnow()
    ph.open_poll(hub, POLL, now)
    ph.open_poll(hub, "snart", now, trustees=False, closes_at=now + dt.timedelta(minutes=1))
    engine = ph.engine_of(hub)
    with unit_of_work(make_session_factory(engine)) as session:
        _close(session, now)
    engine.dispose()


def _close(session: Session, now: dt.datetime) -> None:
    assert lifecycle.close_due(session, actor="timer", now=now) == []
    assert lifecycle.close_due(session, actor="timer", now=now + dt.timedelta(minutes=2)) == ["snart"]
    poll = lifecycle.close_poll(session, POLL, actor="t", now=now + dt.timedelta(minutes=3))
    assert poll.state == "closed" and poll.closes_at == now + dt.timedelta(minutes=3)
    with pytest.raises(PollError, match="is closed"):
        lifecycle.close_poll(session, POLL, actor="t")


def test_nothing_is_decrypted_before_the_close_and_k_partials_give_the_verified_record(
    hub: HubSettings, pki: Any, eid_issuer: Issuer
) -> None:
    """SEC-06, SEC-09: partials are refused while open; 2 of 3 give the result; the record verifies."""
    now = utcnow()
    shares = ph.open_poll(hub, POLL, now)
    engine = ph.engine_of(hub)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as s:
        notice = ph.notice(hub, s, POLL)
    ange = ph.device(pki, "ange")
    for card, chosen, second in (("anna", 0, 1), ("rut", 1, 2), ("anna", 1, 3)):
        env = ph.envelope(
            hub, notice, eid_issuer, ange, card=card, chosen=frozenset({chosen}), at=now + dt.timedelta(seconds=second)
        )
        ph.ingest(hub, ph.action(env, ange), now)
    with unit_of_work(factory) as s:
        with pytest.raises(PollError, match="is open"):
            counting.closed_board(s, POLL)
        with pytest.raises(PollError, match="is open"):
            counting.upload_partial(s, POLL, {}, actor="anna")
        lifecycle.close_poll(s, POLL, actor="t")
    with unit_of_work(factory) as s:
        closed = verify.verify_board(counting.closed_board(s, POLL).splitlines(keepends=True))
        poll = drafts.get_poll(s, POLL)
        assert counting.result_of(poll) is None
        for index in (1, 3):
            partial = tally.decrypt_share(closed.rules, closed.key, index, shares[index], closed.aggregate)
            body = {
                "head": closed.head,
                "aggregate": tally.aggregate_to_json(closed.aggregate),
                "partial": partial.to_json(),
            }
            if index == 1:
                bad = dataclasses.replace(partial, index=2)
                with pytest.raises(PollError, match="does not hold"):
                    counting.upload_partial(
                        s, POLL, keygen.round_file("decrypt", POLL, {**body, "partial": bad.to_json()}), actor="bo"
                    )
                with pytest.raises(PollError, match="another board"):
                    counting.upload_partial(
                        s, POLL, keygen.round_file("decrypt", POLL, {**body, "head": "0" * 64}), actor="anna"
                    )
            assert counting.upload_partial(
                s, POLL, keygen.round_file("decrypt", POLL, body), actor=ph.TRUSTEES[index - 1]
            ) == (index, index == 3)
        result = counting.result_of(drafts.get_poll(s, POLL))
        assert result is not None and result.counts == (0, 2) and result.counted == 2
        with pytest.raises(PollError, match="no published"):
            counting.election_record(s, POLL)
        counting.publish(s, POLL, actor="t")
    with unit_of_work(factory) as s:
        verified = verify.verify_lines(counting.election_record(s, POLL).splitlines(keepends=True))
        assert (verified.counts, verified.counted) == ((0, 2), 2)
        assert drafts.get_poll(s, POLL).state == "published"
    engine.dispose()
    late = ph.envelope(hub, notice, eid_issuer, ange, card="rut", at=now + dt.timedelta(seconds=4))
    with pytest.raises(ActionRefused, match="has been counted"):
        ph.ingest(hub, ph.action(late, ange), now)


def test_a_draft_can_be_edited_until_it_opens(session: Session) -> None:
    now = utcnow()
    drafts.create_poll(session, POLL, ph.spec(now), actor="t")
    changed = ph.spec(now, method="approval", min_selections=1, max_selections=2, revote="first", min_age=18)
    poll = drafts.edit_poll(session, POLL, changed, actor="t")
    assert drafts.rules_of(poll).method == "approval" and poll.revote == "first" and poll.min_age == 18


def test_without_its_files_the_ingest_refuses_ballots_and_keeps_them(settings: HubSettings) -> None:
    """A configuration error must not put ballots on the board as rejected: the action is kept for a replay."""
    handler = default_handlers(settings).find(BALLOT_KIND)
    assert handler is not None
    act = ActionContext("ange", "m1", BALLOT_KIND, 0, {"envelope": {"ballot": {"poll": POLL}}})
    with pytest.raises(ActionUnchecked, match=r"cannot check ballots now: .*device_api_ca_file"):
        handler(None, act)  # type: ignore[arg-type]


def test_the_timer_republishes_the_sets_while_a_poll_is_open(hub: HubSettings) -> None:
    """The roll set's voted lists reach kiosks without waiting for the close."""
    from hub.sets.publication import find_latest

    now = utcnow()
    ph.open_poll(hub, POLL, now)
    engine = ph.engine_of(hub)
    assert lifecycle.close_and_publish(hub, engine, None, actor="timer", announce=False) == []
    with unit_of_work(make_session_factory(engine), write=False) as s:
        latest = find_latest(s, "roll")
        assert latest is not None and POLL in json.loads(latest.body)["content"]["polls"]
    engine.dispose()


def test_a_ballot_cast_before_the_close_that_arrives_after_it_is_counted_and_stale_partials_dropped(
    hub: HubSettings, pki: Any, eid_issuer: Issuer
) -> None:
    """SEC-11 with SEC-04: an offline kiosk's ballot still counts; the trustees decrypt the board that holds it."""
    now = utcnow()
    shares = ph.open_poll(hub, POLL, now)
    engine = ph.engine_of(hub)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as s:
        notice = ph.notice(hub, s, POLL)
    ange, follinge = ph.device(pki, "ange"), ph.device(pki, "follinge")
    anna = ph.envelope(hub, notice, eid_issuer, ange, chosen=frozenset({0}), at=now + dt.timedelta(seconds=1))
    rut = ph.envelope(
        hub, notice, eid_issuer, follinge, card="rut", chosen=frozenset({1}), at=now + dt.timedelta(seconds=5)
    )
    ph.ingest(hub, ph.action(anna, ange), now)
    with unit_of_work(factory) as s:
        lifecycle.close_poll(s, POLL, actor="t", now=now + dt.timedelta(seconds=10))

    def decrypt(index: int) -> dict[str, Any]:
        with unit_of_work(factory, write=False) as s:
            closed = verify.verify_board(counting.closed_board(s, POLL).splitlines(keepends=True))
        partial = tally.decrypt_share(closed.rules, closed.key, index, shares[index], closed.aggregate)
        body = {
            "head": closed.head,
            "aggregate": tally.aggregate_to_json(closed.aggregate),
            "partial": partial.to_json(),
        }
        return keygen.round_file("decrypt", POLL, body)

    with unit_of_work(factory) as s:
        assert counting.upload_partial(s, POLL, decrypt(1), actor="anna") == (1, False)
    stale = decrypt(2)
    assert ph.ingest(hub, ph.action(rut, follinge), now + dt.timedelta(minutes=5)) == "counted"
    with unit_of_work(factory) as s, pytest.raises(PollError, match="another board"):
        counting.upload_partial(s, POLL, stale, actor="bo")
    with unit_of_work(factory) as s:
        assert counting.upload_partial(s, POLL, decrypt(2), actor="bo") == (2, False)  # trustee 1's was dropped
        assert counting.upload_partial(s, POLL, decrypt(3), actor="cy") == (3, True)
        result = counting.result_of(drafts.get_poll(s, POLL))
        assert result is not None and result.counts == (1, 1)
        assert "poll.partials_discarded" in "\n".join(audit_log.export_lines(s))
    engine.dispose()
