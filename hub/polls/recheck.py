"""Ballots the ingest had to refuse because the hub could not check them (a missing or unreadable CA file, seal
key or revocation list), taken in again once the configuration is fixed: `tinget hub poll recheck`.

Such an action is kept with the status "unchecked" (`ActionUnchecked`, raised by hub/polls/ballots.py for both
ballot kinds) and was acked, so the kiosk will not send it again. Re-running the same handler on the stored body puts
the ballot on its board now (counted, superseded or rejected with its own reason), exactly as if it had arrived
today; an action refused for anything else (a duplicate, an unknown poll, a counted poll) is left alone.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit import log as audit_log
from hub.devices.models import ReceivedAction
from hub.ingest.handlers import ActionContext, ActionRefused, ActionUnchecked, default_handlers
from hub.ingest.received import ACCEPTED, REFUSED, UNCHECKED
from hub.settings import HubSettings
from protocol.polls import BALLOT_KIND, NAMED_BALLOT_KIND


@dataclass(frozen=True)
class Rechecked:
    """What one run did: how many were taken in, and how many are still refused (with the first reason)."""

    taken: int
    still_refused: int
    first_reason: str | None = None


def recheck_unchecked(session: Session, settings: HubSettings, *, actor: str) -> Rechecked:
    """Run the ballot handlers again on every ballot refused because it could not be checked (audited)."""
    handlers = default_handlers(settings)
    rows = session.scalars(
        select(ReceivedAction)
        .where(
            ReceivedAction.kind.in_((BALLOT_KIND, NAMED_BALLOT_KIND)),
            ReceivedAction.status == UNCHECKED,
        )
        .order_by(ReceivedAction.received_at, ReceivedAction.id)
    ).all()
    taken, still, first = 0, 0, None
    for row in rows:
        handler = handlers.find(row.kind)
        if handler is None:  # pragma: no cover - both kinds are registered when settings are given
            continue
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
        context = ActionContext(
            row.device_id, row.msg_id, row.kind, int(created.timestamp() * 1000), json.loads(row.body)
        )
        try:
            with session.begin_nested():
                handler(session, context)
        except ActionRefused as exc:
            if not isinstance(exc, ActionUnchecked):  # checked now, and refused for good
                row.status = REFUSED
            row.reason = str(exc)[:2000]
            still += 1
            first = first or row.reason
            continue
        row.status, row.reason = ACCEPTED, None
        taken += 1
    if rows:
        audit_log.record(
            session,
            actor=actor,
            action="poll.ballots_rechecked",
            subject="received_actions",
            details={"taken": taken, "still_refused": still},
        )
    return Rechecked(taken, still, first)
