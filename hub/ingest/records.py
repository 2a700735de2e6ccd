"""What the ingest does with a group of received messages, in ONE transaction. No MQTT here, only the database.

For each action batch: every action is inserted into ``received_actions`` unless (device, msg_id) is already
there; only the new ones get their side effects (`hub.ingest.handlers`); the `Ack` to publish after the commit
lists every action of the batch, duplicates included. Heartbeats and state go to ``devices``; anything that
cannot be accepted goes to ``dead_letters`` with its category and reason (SEC-19). The caller commits, then
publishes the acks, then acknowledges the MQTT messages.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hub.db import DatabaseUnavailable
from hub.devices.models import DeadLetter, Device
from hub.ingest.handlers import ActionContext, ActionRefused, ActionUnchecked, Handler, Handlers, unknown_kind_reason
from hub.ingest.reading import REPLAY, Incoming, Refusal, from_ms, read_message
from hub.ingest.received import ACCEPTED, REFUSED, UNCHECKED, insert_new, mark_refused
from protocol import codec, messages

log = logging.getLogger(__name__)

MAX_KEPT_PAYLOAD = 64 * 1024  # a dead letter keeps this much of a payload: enough to study, not a disk filler


@dataclass
class GroupOutcome:
    """What recording a group did, and the acks to publish once it is committed."""

    acks: list[tuple[str, messages.Ack]] = field(default_factory=list)  # (device id, Ack)
    new_actions: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    handled: int = 0


def dead_letter(session: Session, item: Incoming, category: str, reason: str, now: dt.datetime) -> None:
    """Keep a message we could not accept, with its category and the reason (SEC-19)."""
    session.add(
        DeadLetter(
            received_at=now,
            topic=item.topic[:300],
            payload=item.payload[:MAX_KEPT_PAYLOAD],
            payload_size=len(item.payload),
            reason=reason[:2000],
            category=category,
        )
    )
    log.warning("message refused", extra={"topic": item.topic[:200], "category": category, "reason": reason[:300]})


def lock_devices(session: Session, device_ids: Iterable[str], now: dt.datetime) -> dict[str, Device]:
    """The devices' rows, created if new, locked (PostgreSQL) in id order, and marked as seen now."""
    ids = sorted(set(device_ids))
    if not ids:
        return {}
    table = cast(Table, Device.__table__)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(table).on_conflict_do_nothing(index_elements=["device_id"]),
        [{"device_id": d, "last_seen": now, "actions_received": 0, "duplicates_absorbed": 0} for d in ids],
    )
    query = select(Device).where(Device.device_id.in_(ids)).order_by(Device.device_id).with_for_update(key_share=True)
    devices = {device.device_id: device for device in session.scalars(query)}
    for device in devices.values():
        device.last_seen = now
    return devices


def _action_rows(batch: messages.ActionBatch, handlers: Handlers, now: dt.datetime) -> list[dict[str, Any]]:
    rows = []
    for action in batch.actions:
        known = handlers.find(action.kind) is not None
        rows.append(
            {
                "device_id": batch.sender,
                "msg_id": action.msg_id,
                "batch_id": batch.msg_id,
                "kind": action.kind,
                "body": codec.encode(action.body).decode("utf-8"),
                "created_at": from_ms(action.created_at),
                "received_at": now,
                "status": ACCEPTED if known else REFUSED,
                "reason": None if known else unknown_kind_reason(action.kind),
            }
        )
    return rows


def _apply(session: Session, handler: Handler, context: ActionContext) -> tuple[str, str] | None:
    """Run one handler in a savepoint; (status, reason) when it was refused or could not be checked, else None."""
    try:
        with session.begin_nested():
            handler(session, context)
    except ActionUnchecked as exc:
        return UNCHECKED, str(exc) or "unchecked"
    except ActionRefused as exc:
        return REFUSED, str(exc) or "refused"
    except (DatabaseUnavailable, DBAPIError):
        raise  # the database, not the action: the whole group is retried
    except Exception as exc:  # a handler's bug must not hold up every other action (SEC-19)
        log.exception("action handler failed", extra={"kind": context.kind, "device": context.device_id})
        return REFUSED, f"the hub failed to apply it ({type(exc).__name__}); kept for staff to look at"
    return None


def _record_batch(
    session: Session,
    device: Device,
    batch: messages.ActionBatch,
    new_keys: set[tuple[str, str]],
    claimed: set[tuple[str, str]],
    handlers: Handlers,
) -> int:
    """Side effects for the batch's new actions and the device's counters; returns how many were new."""
    new = 0
    for action in batch.actions:
        key = (batch.sender, action.msg_id)
        if key not in new_keys or key in claimed:
            continue
        claimed.add(key)
        new += 1
        handler = handlers.find(action.kind)
        if handler is None:
            continue
        context = ActionContext(batch.sender, action.msg_id, action.kind, action.created_at, action.body)
        refused = _apply(session, handler, context)
        if refused is not None:
            status, reason = refused
            mark_refused(session, batch.sender, action.msg_id, reason, status)
    device.actions_received = (device.actions_received or 0) + new
    device.duplicates_absorbed = (device.duplicates_absorbed or 0) + len(batch.actions) - new
    return new


def _record_heartbeat(device: Device, msg: messages.Heartbeat, now: dt.datetime) -> None:
    device.last_heartbeat = messages.to_payload(msg).decode("utf-8")
    device.heartbeat_at = now
    device.version = msg.version
    device.uptime_s = msg.uptime_s
    device.outbox_depth = msg.outbox_depth
    device.outbox_oldest_age_s = msg.outbox_oldest_age_s
    device.last_ack_at = from_ms(msg.last_ack_at)
    device.cert_expires_at = from_ms(msg.cert_expires_at)
    device.reader_state = msg.reader_state
    device.clock_offset_ms = msg.clock_offset_ms
    if device.state is None:  # it talks, so it is connected (its retained state came before we listened)
        device.state, device.state_at = "online", now


def _record_state(device: Device, msg: messages.DeviceState, now: dt.datetime) -> None:
    if device.state != msg.state:
        log.info("device state", extra={"device": device.device_id, "state": msg.state})
    device.state, device.state_at = msg.state, now


def record_group(session: Session, items: Sequence[Incoming], now: dt.datetime, handlers: Handlers) -> GroupOutcome:
    """Record ``items`` in the caller's transaction; the returned acks must be published after the commit."""
    outcome = GroupOutcome(handled=len(items))
    read: list[tuple[Incoming, messages.Message]] = []
    for item in items:
        try:
            read.append((item, read_message(item)))
        except Refusal as refusal:
            dead_letter(session, item, refusal.category, refusal.reason, now)
            outcome.dead_letters += 1
    devices = lock_devices(session, (msg.sender for _item, msg in read), now)
    batches = [msg for _item, msg in read if isinstance(msg, messages.ActionBatch)]
    new_keys = insert_new(session, [row for batch in batches for row in _action_rows(batch, handlers, now)])
    claimed: set[tuple[str, str]] = set()
    for item, msg in read:
        device = devices[msg.sender]
        if isinstance(msg, messages.ActionBatch):
            new = _record_batch(session, device, msg, new_keys, claimed, handlers)
            _answer_batch(session, item, msg, new, now, outcome)
            device.last_batch_at = now
        elif isinstance(msg, messages.Heartbeat):
            _record_heartbeat(device, msg, now)
        elif isinstance(msg, messages.DeviceState):
            _record_state(device, msg, now)
    return outcome


def _answer_batch(
    session: Session, item: Incoming, batch: messages.ActionBatch, new: int, now: dt.datetime, outcome: GroupOutcome
) -> None:
    """The batch's Ack (every action id, duplicates too); a batch with nothing new is a replay, kept as such."""
    ids = tuple(action.msg_id for action in batch.actions)
    ack = messages.Ack.create(sender=messages.HUB_SENDER, batch_id=batch.msg_id, acked=ids)
    outcome.acks.append((batch.sender, ack))
    outcome.new_actions += new
    outcome.duplicates += len(ids) - new
    if new == 0:
        reason = f"replayed batch {batch.msg_id}: all {len(ids)} actions were already recorded; absorbed, acked again"
        dead_letter(session, item, REPLAY, reason, now)
        outcome.dead_letters += 1
