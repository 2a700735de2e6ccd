"""Faults during a stream of confirmed actions, with every part real and in its own process (SEC-11).

Each test runs Mosquitto (TLS + ACL), ``tinget hub ingest`` on a SQLite hub database, ``tinget kiosk sync`` on
the kiosk's SQLite file and a "kiosk UI" process confirming actions one by one (`tests.e2e.sync_system`),
injects one kind of fault at random moments, and then checks the promise of the sync issue: the kiosk's outbox
drains, and the hub holds every confirmed action exactly once and nothing that was not confirmed.

The moments come from a seeded `random.Random`; the seed is printed and shown in every failure message. Run
one again with ``TINGET_FAULT_SEED=<seed>``.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.e2e.sync_system import DEVICE, WAIT, SyncSystem, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.broker]

DAY_MS = 86_400_000


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """The seed of this test's random moments: ``TINGET_FAULT_SEED`` or a fresh one (printed)."""
    value = int(os.environ.get("TINGET_FAULT_SEED") or random.SystemRandom().randrange(2**32))
    print(f"{request.node.name}: seed {value} (again: TINGET_FAULT_SEED={value})")
    return value


@pytest.fixture
def rng(seed: int) -> random.Random:
    return random.Random(seed)


@pytest.fixture
def system(mosquitto: Any, tmp_path: Path, seed: int) -> Iterator[SyncSystem]:
    """Hub and kiosk with migrated databases on ``mosquitto``; every process killed at teardown."""
    running = SyncSystem(mosquitto, tmp_path / "system", seed)
    try:
        yield running.prepare()
    finally:
        running.close()


def assert_exactly_once(system: SyncSystem) -> None:
    """End the writers, wait until the outbox drains, and compare the hub with what was confirmed.

    An action whose ``begin`` was printed but not its ``done`` (its writer was killed in between) may or may not
    be stored; every other id at the hub must have been confirmed, and every confirmed one must be there once.
    """
    for writer in system.writers:
        if writer.running:
            writer.stop()
        writer.finished()
    system.wait_drained(WAIT)
    hub = system.hub_ids()
    confirmed = set(system.confirmed)
    uncertain = {writer.begun for writer in system.writers if writer.begun is not None}
    context = system.report()
    assert len(system.confirmed) == len(confirmed), "a writer confirmed an id twice" + context
    assert len(hub) == len(set(hub)) == system.hub_count(), "an action is stored twice" + context
    missing = confirmed - set(hub)
    assert not missing, f"{len(missing)} confirmed actions never reached the hub: {sorted(missing)[:3]}{context}"
    unconfirmed = set(hub) - confirmed - uncertain
    assert not unconfirmed, f"the hub holds actions nobody confirmed: {sorted(unconfirmed)[:3]}{context}"
    assert set(hub) == system.outbox_ids(), "the hub and the kiosk's outbox disagree" + context
    if not uncertain:
        assert set(hub) == confirmed
    from hub.devices.models import DeadLetter, Device

    categories = {row.category for row in system.hub_query(select(DeadLetter.category).distinct())}
    assert categories <= {"replay"}, f"dead letters other than absorbed resends: {categories}{context}"
    assert system.ingest.process is not None and system.ingest.process.poll() is None, "the ingest stopped" + context
    assert system.agent is not None and system.agent.running, "the sync agent stopped" + context
    absorbed = system.hub_query(select(Device.duplicates_absorbed).where(Device.device_id == DEVICE))
    print(
        f"confirmed {len(confirmed)}, at the hub {len(hub)}, resends absorbed {absorbed[0][0]}, "
        f"killed mid-transaction {len(uncertain - set(hub))}, killed after the commit {len(uncertain & set(hub))}"
    )


def test_a_sync_agent_killed_at_random_moments_still_delivers_every_confirmed_action_exactly_once(
    system: SyncSystem, rng: random.Random
) -> None:
    """SEC-11: ``kill -9`` of ``tinget kiosk sync`` two or three times mid-stream, restarted each time (by
    systemd in production): the outbox drains and the hub holds exactly the confirmed actions, once each."""
    system.start()
    for _ in range(rng.randint(2, 3)):
        time.sleep(rng.uniform(0.0, 0.6))
        assert system.agent is not None
        system.agent.kill()
        time.sleep(rng.uniform(0.0, 0.3))
        system.start_agent()
        system.wait_flowing()
    assert_exactly_once(system)


def test_a_kiosk_ui_killed_mid_transaction_loses_no_confirmed_action_and_sends_no_unconfirmed_one(
    system: SyncSystem, rng: random.Random
) -> None:
    """SEC-11: ``kill -9`` of the process confirming actions, two or three times, mostly inside a transaction:
    an action that was not confirmed may or may not be stored (all or nothing), one that was arrives exactly
    once, and nothing that was never enqueued appears."""
    system.start(pause=0.002, hold=0.01)  # most of the writer's time is spent inside a transaction
    for _ in range(rng.randint(2, 3)):
        time.sleep(rng.uniform(0.05, 0.5))
        killed = system.writer
        killed.kill()
        killed.finished()
        system.start_writer(pause=0.002, hold=0.01).wait_confirmed(5)
    system.wait_flowing()
    assert_exactly_once(system)


def test_a_hub_ingest_killed_at_random_moments_still_stores_every_confirmed_action_exactly_once(
    system: SyncSystem, rng: random.Random
) -> None:
    """SEC-11: ``kill -9`` of ``tinget hub ingest`` two or three times mid-stream, restarted with the same
    ``ingest_client_id``: what it had committed but not acked is resent by the kiosk and absorbed."""
    system.start()
    for _ in range(rng.randint(2, 3)):
        time.sleep(rng.uniform(0.0, 0.6))
        system.ingest.kill()
        time.sleep(rng.uniform(0.0, 0.3))
        system.start_ingest()
        system.wait_flowing()
    assert_exactly_once(system)


def test_a_broker_killed_mid_stream_and_started_again_loses_no_confirmed_action(
    system: SyncSystem, rng: random.Random
) -> None:
    """SEC-11: ``kill -9`` of Mosquitto mid-stream (what it held in memory is gone), then started again on the
    same port with its persistence: both sides reconnect and every confirmed action is stored once."""
    system.start()
    time.sleep(rng.uniform(0.0, 0.6))
    system.broker.kill()
    time.sleep(rng.uniform(0.1, 1.0))
    system.broker.start()
    system.wait_flowing()
    assert_exactly_once(system)


def test_a_kiosk_cut_off_from_the_hub_keeps_confirming_actions_and_delivers_them_when_it_returns(
    system: SyncSystem, rng: random.Random
) -> None:
    """SEC-11: the broker is away for a few seconds (a network cut); the kiosk UI keeps confirming actions
    all along, nothing reaches the hub meanwhile, and afterwards every one arrives exactly once."""
    system.start()
    time.sleep(rng.uniform(0.0, 0.5))
    system.broker.stop()
    time.sleep(0.5)  # what the ingest had taken in before the cut is committed by now
    at_cut = len(system.confirmed), system.hub_count()
    time.sleep(rng.uniform(2.0, 3.0))
    assert system.writer.running, system.writer.log_tail()
    assert len(system.confirmed) >= at_cut[0] + 20, "the kiosk stopped confirming actions while cut off"
    assert system.hub_count() == at_cut[1], "actions reached the hub without a broker"
    assert system.pending() > 0
    system.broker.start()
    system.wait_flowing()
    assert_exactly_once(system)


def test_a_hub_database_locked_for_a_few_seconds_delays_actions_but_loses_none(
    system: SyncSystem, rng: random.Random
) -> None:
    """SEC-11: another process holds the hub database's write lock (``BEGIN EXCLUSIVE``) for a few seconds;
    the ingest waits (unacked, so the kiosk resends), keeps running, and afterwards stores each action once."""
    system.start()
    time.sleep(rng.uniform(0.0, 0.5))
    confirmed = len(system.confirmed)
    with system.hub_database_locked():
        at_lock = system.hub_count()
        time.sleep(rng.uniform(2.0, 3.5))
        assert system.hub_count() == at_lock
        assert len(system.confirmed) > confirmed, "the kiosk stopped confirming actions"
    system.wait_flowing()
    assert_exactly_once(system)


def test_a_kiosk_clock_a_day_off_and_stepped_mid_stream_still_delivers_every_action_exactly_once(
    system: SyncSystem, rng: random.Random
) -> None:
    """SEC-11: the kiosk's wall clock runs a day ahead, then steps two days back mid-stream (in the UI and the
    sync agent alike), and a restarted UI then makes ids older than the ones still pending. Every confirmed
    action arrives exactly once, and the kiosk's heartbeat tells the hub its clock is a day off."""
    from hub.devices.models import Device, ReceivedAction

    system.start(clock=f"{DAY_MS},{-DAY_MS}")
    time.sleep(rng.uniform(0.2, 0.8))
    assert system.agent is not None
    system.agent.step_clock()
    system.writer.step_clock()
    system.wait_flowing()
    time.sleep(rng.uniform(0.0, 0.5))
    system.writer.stop()
    system.start_writer(clock=str(-DAY_MS))
    system.wait_flowing()
    assert_exactly_once(system)

    now = dt.datetime.now(dt.UTC)
    ahead = select(func.count()).where(ReceivedAction.created_at > now + dt.timedelta(hours=23))
    behind = select(func.count()).where(ReceivedAction.created_at < now - dt.timedelta(hours=23))
    assert system.hub_query(ahead)[0][0] > 0 and system.hub_query(behind)[0][0] > 0, "the clock was not skewed"

    def offset() -> int | None:
        rows = system.hub_query(select(Device.clock_offset_ms).where(Device.device_id == DEVICE))
        value = rows[0][0] if rows else None
        return value if value is not None and abs(abs(value) - DAY_MS) < 10_000 else None

    wait_for(offset, 10, lambda: f"a heartbeat with the kiosk's clock offset{system.report()}")
