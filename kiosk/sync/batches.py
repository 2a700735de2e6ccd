"""Outbox rows packed into `ActionBatch` messages that fit the protocol's limits. Plain Python, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from protocol import codec
from protocol.messages import MAX_ACTIONS_PER_BATCH, MAX_PAYLOAD_SIZE, Action, ActionBatch, to_payload

ACTION_OVERHEAD = 256  # bytes an action's fields and punctuation add to its body, generously
BATCH_OVERHEAD = 1024  # the batch's own fields


@dataclass(frozen=True, slots=True)
class Pending:
    """An outbox row as the packer needs it: id, kind, creation time (Unix ms), canonical body bytes."""

    msg_id: str
    kind: str
    created_at_ms: int
    body: bytes


@dataclass(frozen=True, slots=True)
class Packed:
    """A batch ready to publish: the message (its ``msg_id`` is the batch id) and its wire bytes."""

    batch: ActionBatch
    payload: bytes

    @property
    def action_ids(self) -> tuple[str, ...]:
        """The outbox ids it carries."""
        return tuple(a.msg_id for a in self.batch.actions)


def pack(rows: Sequence[Pending], sender: str, max_actions: int = MAX_ACTIONS_PER_BATCH) -> list[Packed]:
    """Pack ``rows`` in order into batches of at most ``max_actions`` whose payload fits `MAX_PAYLOAD_SIZE`.

    Each batch gets a fresh id (a resend is a new batch holding the same action ids).
    """
    max_actions = max(1, min(max_actions, MAX_ACTIONS_PER_BATCH))
    groups: list[list[Pending]] = []
    size = 0
    for row in rows:
        cost = len(row.body) + ACTION_OVERHEAD
        if not groups or len(groups[-1]) >= max_actions or size + cost > MAX_PAYLOAD_SIZE - BATCH_OVERHEAD:
            groups.append([])
            size = 0
        groups[-1].append(row)
        size += cost
    return [packed for group in groups for packed in _encode(group, sender)]


def _encode(group: list[Pending], sender: str) -> list[Packed]:
    actions = tuple(
        Action(
            msg_id=r.msg_id,
            kind=r.kind,
            created_at=r.created_at_ms,
            body=codec.decode(r.body, max_size=MAX_PAYLOAD_SIZE),
        )
        for r in group
    )
    batch = ActionBatch.create(sender=sender, actions=actions)
    try:
        return [Packed(batch, to_payload(batch))]
    except codec.EncodeError:
        if len(group) == 1:  # enqueue caps a body far below the limit; a row this big cannot exist
            raise
        half = len(group) // 2
        return _encode(group[:half], sender) + _encode(group[half:], sender)
