"""A poll in which no ballot counts (nobody voted, or every ballot was rejected) is closed, counted without the
trustees and published, and its record verifies as all zeros (D66, SEC-09)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from hub.audit import log as audit_log
from hub.db import make_session_factory, unit_of_work, utcnow
from hub.polls import counting, drafts, lifecycle
from hub.polls.drafts import PollError
from hub.settings import HubSettings
from protocol.ballots import verify
from tests.hub import poll_helpers as ph
from tests.hub.helpers import write_config
from tests.hub.test_polls_cli import tinget
from tests.support.eid import ANNA_PERSONNUMMER, Issuer

POLL = "tom-2027"


@pytest.fixture
def hub(settings: HubSettings, pki: Any, eid_issuer: Issuer) -> HubSettings:
    return ph.poll_settings(settings, pki, eid_issuer)


def test_a_poll_nobody_voted_in_is_published_without_trustees_as_all_zeros(hub: HubSettings) -> None:
    now = utcnow()
    ph.open_poll(hub, POLL, now)
    engine = ph.engine_of(hub)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as s:
        with pytest.raises(PollError, match="is open"):
            counting.publish(s, POLL, actor="t")
        lifecycle.close_poll(s, POLL, actor="t")
    with unit_of_work(factory) as s:
        assert counting.result_of(drafts.get_poll(s, POLL)) is None  # nothing before the officer counts
        row = counting.publish(s, POLL, actor="t")
        assert row.sha256
    with unit_of_work(factory) as s:
        poll = drafts.get_poll(s, POLL)
        assert poll.state == "published" and counting.result_of(poll) == counting.record.Result((0, 0), 0)
        verified = verify.verify_lines(counting.election_record(s, POLL).splitlines(keepends=True))
        assert (verified.counts, verified.counted, verified.entries) == ((0, 0), 0, 0)
        tallied = [json.loads(line) for line in audit_log.export_lines(s) if '"poll.tallied"' in line]
        assert tallied[-1]["details"]["trustees"] == []
    engine.dispose()


def test_a_poll_whose_only_ballot_was_rejected_counts_zero_and_one_with_a_counted_ballot_needs_trustees(
    hub: HubSettings, pki: Any, eid_issuer: Issuer
) -> None:
    now = utcnow()
    ph.open_poll(hub, POLL, now, voters=(ANNA_PERSONNUMMER,))
    ph.open_poll(hub, "full-2027", now, trustees=False)
    engine = ph.engine_of(hub)
    factory = make_session_factory(engine)
    ange = ph.device(pki, "ange")
    with unit_of_work(factory) as s:
        notices = {p: ph.notice(hub, s, p) for p in (POLL, "full-2027")}
    refused = ph.envelope(hub, notices[POLL], eid_issuer, ange, card="rut", at=now + dt.timedelta(seconds=1))
    assert ph.ingest(hub, ph.action(refused, ange), now) == "rejected"  # rut is not on this roll
    counted = ph.envelope(hub, notices["full-2027"], eid_issuer, ange, at=now + dt.timedelta(seconds=1))
    assert ph.ingest(hub, ph.action(counted, ange), now) == "counted"
    with unit_of_work(factory) as s:
        lifecycle.close_poll(s, POLL, actor="t")
        lifecycle.close_poll(s, "full-2027", actor="t")
    with unit_of_work(factory) as s:
        with pytest.raises(PollError, match="the trustees must decrypt"):
            counting.count_without_trustees(s, "full-2027", actor="t")
        with pytest.raises(PollError, match="is closed"):
            counting.publish(s, "full-2027", actor="t")
        assert counting.count_without_trustees(s, POLL, actor="t").counts == (0, 0)
        assert drafts.get_poll(s, POLL).state == "tallied"
        counting.publish(s, POLL, actor="t")
    with unit_of_work(factory) as s:
        verified = verify.verify_lines(counting.election_record(s, POLL).splitlines(keepends=True))
        assert (verified.counts, verified.counted, verified.entries) == ((0, 0), 0, 1)
    engine.dispose()


def test_an_unvoted_poll_is_closed_published_and_verified_on_the_command_line(
    hub: HubSettings, pki: Any, eid_issuer: Issuer, tmp_path: Path
) -> None:
    ph.open_poll(hub, POLL, utcnow())
    config = write_config(
        tmp_path,
        database_url=hub.database_url,
        device_api_ca_file=pki.chain,
        device_api_revoked_file=pki.revoked_file,
        eid_ca_file=eid_issuer.ca_dir / "chain.pem",
        eid_crl_dir=eid_issuer.ca_dir / "crl",
    )
    c = ("--config", config)
    tinget("hub", "poll", "close", POLL, "--no-announce", *c)
    published = tinget("hub", "poll", "publish", POLL, *c)
    assert "Ingen valsedel räknas" in published.stdout
    tinget("hub", "poll", "record", POLL, "--out", tmp_path / "record.jsonl", *c)
    verified = tinget("verify", tmp_path / "record.jsonl")
    assert "0 ballots counted" in verified.stdout and "nothing is decrypted" in verified.stdout
    assert "every check holds" in verified.stdout
