"""Ballots refused because the hub could not check them are taken in again once it can (`tinget hub poll
recheck`); every other refusal stays as it was."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub.audit import log as audit_log
from hub.db import make_session_factory, unit_of_work, utcnow
from hub.devices.models import Device, ReceivedAction
from hub.polls import board
from hub.polls.recheck import recheck_unchecked
from hub.settings import HubSettings
from protocol import codec
from protocol.polls import BALLOT_KIND
from tests.hub import poll_helpers as ph
from tests.support.eid import Issuer

POLL = "budget-2027"


def _refused(
    device_id: str, msg_id: str, body: Any, reason: str, at: dt.datetime, status: str = "refused"
) -> ReceivedAction:
    return ReceivedAction(
        device_id=device_id,
        msg_id=msg_id,
        batch_id=msg_id,
        kind=BALLOT_KIND,
        body=codec.encode(body).decode("utf-8"),
        created_at=at,
        received_at=at,
        status=status,
        reason=reason,
    )


def test_a_ballot_the_hub_could_not_check_is_counted_on_recheck_and_other_refusals_stay(
    settings: HubSettings, pki: Any, eid_issuer: Issuer
) -> None:
    hub = ph.poll_settings(settings, pki, eid_issuer)
    now = utcnow()
    ph.open_poll(hub, POLL, now)
    engine = ph.engine_of(hub)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as s:
        notice = ph.notice(hub, s, POLL)
    ange = ph.device(pki, "ange")
    anna = ph.envelope(hub, notice, eid_issuer, ange, chosen=frozenset({0}), at=now + dt.timedelta(seconds=1))
    cast = now + dt.timedelta(seconds=1)
    with unit_of_work(factory) as s:
        s.add(Device(device_id="ange", last_seen=cast))
        s.flush()
        body = ph.action(anna, ange).body
        s.add(_refused("ange", "m1", body, "the hub cannot check ballots now: no CA", cast, "unchecked"))
        s.add(_refused("ange", "m2", {"envelope": {}}, "there is no open poll x", cast))
        s.add(_refused("ange", "m3", body, "the hub cannot check ballots now: a refusal text, not the status", cast))
    with unit_of_work(factory) as s:
        done = recheck_unchecked(s, hub, actor="it")
    assert (done.taken, done.still_refused) == (1, 0)
    with unit_of_work(factory, write=False) as s:
        rows = {row.msg_id: row for row in s.query(ReceivedAction)}
        assert rows["m1"].status == "accepted" and rows["m1"].reason is None
        assert rows["m2"].status == "refused" and rows["m2"].reason == "there is no open poll x"
        assert rows["m3"].status == "refused"  # found by its status, never by the wording of a reason
        assert [r.status for r in board.board_rows(s, POLL)] == ["counted"]
        assert "poll.ballots_rechecked" in "\n".join(audit_log.export_lines(s))
    with unit_of_work(factory) as s:
        assert recheck_unchecked(s, hub, actor="it").taken == 0  # nothing left to take in
    engine.dispose()
