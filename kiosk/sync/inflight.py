"""Which batches are on their way to the hub, and when to send their actions again. Plain Python, no I/O.

The outbox in SQLite is the truth about what is undelivered; this is only the agent's memory of what it has
published and is still waiting for an `Ack` about, so that it neither sends an action twice at once nor
forgets one. A batch that is not acked within its wait is dropped from here, and its actions become due
again: each further attempt waits twice as long (capped, with jitter so that a fleet of kiosks returning
together does not resend in lock step). A reconnect forgets everything: all unacked actions are due at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long to wait for the hub's ack of an action's ``attempt``-th send (1 = the first).

    The first wait is exactly ``ack_timeout``; later ones double, up to ``cap``, and are drawn from the upper
    half of that ("equal jitter"), never shorter than ``ack_timeout``.
    """

    ack_timeout: float
    cap: float

    def wait(self, attempt: int, rand: float) -> float:
        """Seconds to wait for an ack; ``rand`` is uniform in [0, 1)."""
        if attempt <= 1:
            return self.ack_timeout
        ceiling = min(self.cap, self.ack_timeout * 2.0 ** min(attempt - 1, 32))
        return max(self.ack_timeout, ceiling * (0.5 + rand / 2))


@dataclass(slots=True)
class Batch:
    """One published `ActionBatch` awaiting its ack."""

    batch_id: str
    action_ids: tuple[str, ...]
    sent_at: float  # on the agent's monotonic clock
    deadline: float
    sent_wall_ms: int  # Unix ms at publish: with the ack's receive time, brackets the hub's Ack.sent_at


@dataclass
class InFlight:
    """The bookkeeping of published batches; the clock and random source are injected (tests fake them)."""

    max_batches: int
    backoff: Backoff
    clock: Clock = time.monotonic
    rand: Callable[[], float] = random.random
    _batches: dict[str, Batch] = field(default_factory=dict)
    _busy: dict[str, str] = field(default_factory=dict)  # action id -> batch id carrying it now
    _attempts: dict[str, int] = field(default_factory=dict)  # action id -> sends so far, until acked

    def room(self) -> int:
        """How many more batches may be published now."""
        return max(0, self.max_batches - len(self._batches))

    def __len__(self) -> int:
        return len(self._batches)

    @property
    def busy_count(self) -> int:
        """How many actions are in a batch awaiting its ack."""
        return len(self._busy)

    def is_busy(self, action_id: str) -> bool:
        """Whether ``action_id`` is in a published batch whose ack is still awaited."""
        return action_id in self._busy

    def attempts(self, action_id: str) -> int:
        """How often ``action_id`` has been published by this process since its last ack (0 if never)."""
        return self._attempts.get(action_id, 0)

    def sent(self, batch_id: str, action_ids: Iterable[str], wall_ms: int) -> Batch:
        """Record a published batch; its wait grows with the most-tried action in it."""
        ids = tuple(action_ids)
        if batch_id in self._batches or any(i in self._busy for i in ids):
            raise ValueError("a batch id or an action id is already in flight")  # a programming error
        attempt = 0
        for action_id in ids:
            self._attempts[action_id] = self._attempts.get(action_id, 0) + 1
            attempt = max(attempt, self._attempts[action_id])
            self._busy[action_id] = batch_id
        now = self.clock()
        batch = Batch(batch_id, ids, now, now + self.backoff.wait(attempt, self.rand()), wall_ms)
        self._batches[batch_id] = batch
        return batch

    def acked(self, batch_id: str, action_ids: Iterable[str]) -> Batch | None:
        """The hub acked these actions (for ``batch_id``); return that batch if it was still awaited.

        Acked actions leave every batch: one still in flight for them (an earlier resend) may time out
        without making them due again.
        """
        batch = self._batches.pop(batch_id, None)
        if batch is not None:
            for action_id in batch.action_ids:
                if self._busy.get(action_id) == batch_id:
                    del self._busy[action_id]
        for action_id in action_ids:
            self._busy.pop(action_id, None)
            self._attempts.pop(action_id, None)
        return batch

    def expire(self) -> list[Batch]:
        """Drop and return the batches whose wait has passed; their unacked actions are due again."""
        now = self.clock()
        late = [b for b in self._batches.values() if b.deadline <= now]
        for batch in late:
            del self._batches[batch.batch_id]
            for action_id in batch.action_ids:
                if self._busy.get(action_id) == batch.batch_id:
                    del self._busy[action_id]
        return late

    def forget(self, sent_before: float | None = None) -> int:
        """After a reconnect: the batches published before it (on the same clock; all when None) are no longer
        in flight, so their actions are due again (attempt counts stay); return how many were forgotten. A batch
        published on the new connection before the agent heard of it stays: it was sent on that connection."""
        gone = [b for b in self._batches.values() if sent_before is None or b.sent_at < sent_before]
        for batch in gone:
            del self._batches[batch.batch_id]
            for action_id in batch.action_ids:
                if self._busy.get(action_id) == batch.batch_id:
                    del self._busy[action_id]
        return len(gone)

    def next_deadline(self) -> float | None:
        """The earliest deadline of a batch in flight, on the injected clock, or ``None``."""
        return min((b.deadline for b in self._batches.values()), default=None)
