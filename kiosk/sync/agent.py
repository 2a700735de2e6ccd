"""The sync agent's loop (`tinget kiosk sync`): drain the outbox to the hub, apply its acks and commands.

One process, the kiosk's only MQTT client. Everything that touches the database runs here, on the main
thread; paho's thread only queues events (`kiosk.sync.link`). Each turn of the loop:

1. takes the queued events: a reconnect makes every unacked action due again; acks mark their actions
   delivered (one transaction for all acks of the turn) and only then are acknowledged to the broker;
   commands run once; set versions go to `kiosk.replica`;
2. drops batches whose ack is overdue (`kiosk.sync.inflight`: backoff with jitter), so their actions are due;
3. publishes due actions as `ActionBatch`es at QoS 1 while fewer than ``sync_max_inflight`` batches await
   an ack and paho's queue has room;
4. sends a heartbeat when due, and prunes delivered rows older than a week in small batches.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from sqlalchemy.exc import SQLAlchemyError

from kiosk import outbox
from kiosk.presence import AgentFigures, certificate_expiry_ms, heartbeat, outbox_figures
from kiosk.records.worker import RecordsWorker
from kiosk.settings import KioskSettings, load_kiosk_settings
from kiosk.store import make_engine, make_session_factory
from kiosk.sync import replica_port
from kiosk.sync.batches import Pending, pack
from kiosk.sync.clock import ClockOffset
from kiosk.sync.commands import execute_once
from kiosk.sync.inbox import decode_down
from kiosk.sync.inflight import Backoff, InFlight
from kiosk.sync.link import BrokerLink, Connected, Disconnected, Event, Received
from kiosk.sync.watch import CommitWatch
from protocol import topics
from protocol.codec import DecodeError
from protocol.messages import Ack, Command, Message, SetVersion, to_payload
from protocol.settings import ConfigError

log = logging.getLogger(__name__)

# Tuning, with the reason for each value. Tests may patch these.
WATCH_SECONDS = 0.01  # how often the loop looks for commits by the UI process (cheap: PRAGMA data_version)
POLL_SECONDS = 0.5  # and queries the outbox at least this often anyway, should a commit go unnoticed
PRUNE_INTERVAL_SECONDS = 600.0
PRUNE_BATCH = 500  # rows per delete transaction: short, so the UI never waits long for the write lock
PRUNE_ROUNDS = 20  # at most this many batches per interval
ERROR_PAUSE_SECONDS = 1.0  # after a database error (locked, disk), before the loop tries again
# A set the hub could not serve is asked for again after 30 s, doubling up to 10 min (with jitter).
SET_RETRY = Backoff(ack_timeout=30.0, cap=600.0)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class SyncAgent:
    """The loop's state; `run` it until ``stop`` is set, a restart command arrives, or a signal stops it."""

    def __init__(self, settings: KioskSettings, *, config_path: Path | None = None) -> None:
        self.settings = settings
        self.config_path = config_path
        self.link = BrokerLink(settings)
        self.engine = make_engine(settings.database)
        self.sessions = make_session_factory(self.engine)
        self.watch = CommitWatch(settings.database)
        self._backlog = True  # query the outbox on the first turn
        self._next_poll = 0.0
        backoff = Backoff(settings.sync_ack_timeout_seconds, settings.sync_backoff_max_seconds)
        self.inflight = InFlight(settings.sync_max_inflight, backoff)
        self.offset = ClockOffset()
        self.cert_expires_at = certificate_expiry_ms(settings.mqtt_cert_file)
        self.last_ack_at: int | None = None
        self.exit_code: int | None = None
        self._started = time.monotonic()
        self._next_heartbeat = self._started
        self._next_prune = self._started
        self._full = False
        self._set_retries: dict[str, tuple[SetVersion, float, int]] = {}  # name -> (notice, when, attempt)
        self.records = RecordsWorker(settings)  # catalogue and file cache, beside the loop (kiosk/records/)

    # ---- the loop ------------------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> int:
        """Connect and loop until stopped; say "offline", disconnect; return the exit code (75: restart)."""
        log.info("sync agent starting", extra={"device_id": self.settings.device_id})
        self.link.start()
        self.records.start()
        try:
            while not stop.is_set() and self.exit_code is None:
                try:
                    self.turn(self._wait())
                except SQLAlchemyError as exc:
                    # The process loop's edge: a locked or failing database must not end the agent. Unapplied
                    # acks are not acknowledged to the broker, so nothing is lost; at worst actions resend.
                    log.error("database error in the sync loop", extra={"error": type(exc).__name__})
                    stop.wait(ERROR_PAUSE_SECONDS)
        finally:
            self.records.stop()
            self.link.close()
            self.watch.close()
            self.engine.dispose()
            log.info("sync agent stopped", extra={"device_id": self.settings.device_id})
        return self.exit_code or 0

    def turn(self, wait: float) -> None:
        """One turn: events (waiting up to ``wait`` s for the first), timeouts, drain, heartbeat, prune."""
        events = self.link.take(wait)
        self._handle(events)
        if self.exit_code is not None:
            return
        late = self.inflight.expire()
        if late:
            log.info("no ack in time; sending again", extra={"batches": len(late)})
        now = time.monotonic()
        # Query the outbox only when something may have changed: a commit (new actions), an event (an ack frees
        # room, a reconnect makes everything due), a timeout, rows left over from the last drain, or the poll.
        if events or late or self._backlog or now >= self._next_poll or self.watch.changed():
            self._backlog = self.drain() > 0
            self._next_poll = now + POLL_SECONDS
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.settings.heartbeat_seconds
            self.send_heartbeat()
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_INTERVAL_SECONDS
            self.prune()
        for notice, when, attempt in list(self._set_retries.values()):
            if now >= when:
                self._offer_set(notice, attempt + 1)

    def _wait(self) -> float:
        now = time.monotonic()
        due = [now + WATCH_SECONDS, self._next_heartbeat, self._next_prune]
        due.extend(when for _notice, when, _attempt in self._set_retries.values())
        deadline = self.inflight.next_deadline()
        if deadline is not None:
            due.append(deadline)
        return max(0.0, min(due) - now)

    # ---- events --------------------------------------------------------------------------------------------
    def _handle(self, events: list[Event]) -> None:
        acks: list[tuple[Received, Ack]] = []
        later: list[tuple[Received, Message]] = []
        for event in events:
            if isinstance(event, Connected):
                forgotten = self.inflight.forget(sent_before=event.at or None)
                self._next_heartbeat = time.monotonic()
                log.info(
                    "connected to the broker; every unacked action is due again",
                    extra={"session_present": event.session_present, "forgotten_batches": forgotten},
                )
            elif isinstance(event, Disconnected):
                if event.generation >= 0:
                    log.warning("lost the broker; reconnecting", extra={"reason": event.reason})
            else:
                try:
                    message = decode_down(self.settings.device_id, event.topic, event.payload)
                except DecodeError as exc:
                    log.warning("refused a message from the broker", extra={"reason": str(exc)[:300]})
                    self.link.ack(event)  # a broken message stays broken; do not have it redelivered
                    continue
                if isinstance(message, Ack):
                    acks.append((event, message))
                else:
                    later.append((event, message))
        self._apply_acks(acks)
        for event, message in later:
            if self.exit_code is None:
                self._apply(event, message)

    def _apply_acks(self, acks: list[tuple[Received, Ack]]) -> None:
        if not acks:
            return
        ids = [action_id for _event, ack in acks for action_id in ack.acked]
        with self.sessions.begin() as session:
            delivered = outbox.mark_delivered(session, ids)
        for event, ack in acks:
            batch = self.inflight.acked(ack.batch_id, ack.acked)
            if batch is not None:
                self.offset.add(batch.sent_wall_ms, ack.sent_at, event.received_ms)
            self.last_ack_at = event.received_ms
            self.link.ack(event)
        log.debug("acks applied", extra={"acks": len(acks), "delivered": delivered})

    def _apply(self, event: Received, message: Message) -> None:
        if isinstance(message, Command):
            handlers = {"reload": self.reload, "resync": self._resync}
            self.exit_code = execute_once(self.sessions, message, handlers)
        elif isinstance(message, SetVersion):
            self._offer_set(message, 1)
        self.link.ack(event)

    def _offer_set(self, notice: SetVersion, attempt: int) -> None:
        self._set_retries.pop(notice.name, None)
        try:
            retry = replica_port.on_set_version(self.engine, self.settings, notice)
        except Exception:
            # The loop's edge: a set that cannot be handled must not stop the outbox. The replica keeps its
            # last good copy; the retained version comes again on the next connect.
            log.exception("handling a set version failed", extra={"set": notice.name})
            return
        if notice.name == "catalogue":
            self.records.wake()  # whatever the fetch came to: the worker applies the copy the kiosk holds
        if retry:
            wait = SET_RETRY.wait(attempt + 1, random.random())  # noqa: S311 - jitter, not a secret
            self._set_retries[notice.name] = (notice, time.monotonic() + wait, attempt)
            log.info("set not fetched; trying again later", extra={"set": notice.name, "in_s": round(wait)})

    def _resync(self) -> None:
        replica_port.resync(self.engine, self.settings)
        self.records.wake()

    def reload(self) -> None:
        """Re-read the settings file; tuning takes effect now, the broker and database at the next start."""
        try:
            fresh = load_kiosk_settings(self.config_path)
        except ConfigError as exc:
            log.error("reload: invalid settings; keeping the current ones", extra={"error": str(exc)})
            return
        fixed = ("device_id", "database_path", "mqtt_host", "mqtt_port", "mqtt_cert_file", "mqtt_key_file")
        changed = [name for name in fixed if getattr(fresh, name) != getattr(self.settings, name)]
        if changed:
            log.warning("reload: these settings take effect at the next start", extra={"settings": changed})
        self.settings = fresh
        self.inflight.max_batches = fresh.sync_max_inflight
        self.inflight.backoff = Backoff(fresh.sync_ack_timeout_seconds, fresh.sync_backoff_max_seconds)
        log.info("settings reloaded")

    # ---- outbox --------------------------------------------------------------------------------------------
    def drain(self) -> int:
        """Publish due actions while batches and paho's queue have room; return how many actions were sent."""
        room = min(self.inflight.room(), self.link.queue_room())
        if room <= 0 or not self.link.connected:
            return 0
        size = self.settings.sync_batch_size
        with self.sessions() as session:
            ids = outbox.pending_ids(session, room * size + self.inflight.busy_count)
            due = [i for i in ids if not self.inflight.is_busy(i)][: room * size]
            rows = outbox.load(session, due) if due else []
        pending = [Pending(r.id, r.kind, _ms(r.created_at), r.body) for r in rows]
        sent: list[str] = []
        for packed in pack(pending, self.settings.device_id, size)[:room]:
            if not self.link.publish(topics.ACTIONS, packed.payload):
                break  # not connected any more, or paho's queue is full: the rows stay due
            self.inflight.sent(packed.batch.msg_id, packed.action_ids, packed.batch.sent_at)
            sent.extend(packed.action_ids)
        resent = {i: n for i in sent if (n := self.inflight.attempts(i)) > 1}
        if resent:
            with self.sessions.begin() as session:
                outbox.record_sends(session, resent)
        return len(sent)

    def prune(self) -> int:
        """Delete rows delivered over a week ago, in small transactions; return how many."""
        cutoff = datetime.now(UTC) - outbox.KEEP_DELIVERED
        total = 0
        for _ in range(PRUNE_ROUNDS):
            with self.sessions.begin() as session:
                removed = outbox.prune_delivered(session, cutoff, PRUNE_BATCH)
            total += removed
            if removed < PRUNE_BATCH:
                break
        if total:
            log.info("pruned delivered outbox rows", extra={"rows": total})
        return total

    def send_heartbeat(self) -> None:
        """Publish a heartbeat (QoS 0) with the outbox's figures; log an alarm while the outbox is full."""
        with self.sessions() as session:
            box = outbox_figures(session, self.settings.outbox_capacity)
        if box.full:
            log.error(
                "ALARM: the outbox is full; the kiosk refuses new actions until the hub acknowledges some",
                extra={"depth": box.depth, "capacity": self.settings.outbox_capacity},
            )
        elif self._full:
            log.warning("the outbox has room again", extra={"depth": box.depth})
        self._full = box.full
        figures = AgentFigures(
            uptime_s=int(time.monotonic() - self._started),
            last_ack_at=self.last_ack_at,
            cert_expires_at=self.cert_expires_at,
            clock_offset_ms=self.offset.estimate_ms(),
        )
        if self.link.connected:
            beat = heartbeat(self.settings.device_id, box, figures)
            self.link.publish(topics.HEARTBEAT, to_payload(beat), qos=0)


def run_sync(settings: KioskSettings, *, config_path: Path | None = None, stop: threading.Event | None = None) -> int:
    """Run the sync agent until ``stop`` is set or SIGTERM/SIGINT arrives; return the process exit code.

    Returns `kiosk.sync.commands.RESTART_EXIT_CODE` (75) when the hub asked for a restart.
    """
    agent = SyncAgent(settings, config_path=config_path)
    if stop is None:
        stop = threading.Event()

        def _handler(_signum: int, _frame: FrameType | None) -> None:
            stop.set()
            agent.link.wake()

        signal.signal(signal.SIGTERM, _handler)
        signal.signal(signal.SIGINT, _handler)
    return agent.run(stop)
