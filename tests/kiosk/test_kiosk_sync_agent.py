"""The sync agent against a real Mosquitto and a fake hub: delivery only on the hub's ack, resends,
heartbeats, commands once, set versions handed to the replica (DESIGN.md decision 1)."""

from __future__ import annotations

import threading
import time
from importlib.metadata import version

import pytest
from cryptography import x509

from protocol import topics
from protocol.messages import HUB_SENDER, SetVersion, decode_up, now_ms, to_payload
from tests.kiosk.fake_hub import AgentThread, FakeHub, device_settings, upgraded

pytestmark = pytest.mark.broker


@pytest.fixture(autouse=True)
def fast_loop(monkeypatch):
    from kiosk.sync import agent

    monkeypatch.setattr(agent, "POLL_SECONDS", 0.05)


@pytest.fixture
def settings(kiosk_settings, mosquitto):
    settings = device_settings(kiosk_settings, mosquitto)
    upgraded(settings.database)
    return settings


@pytest.fixture
def hubs(mosquitto):
    started: list[FakeHub] = []

    def start(**options) -> FakeHub:
        hub = FakeHub(mosquitto, **options).start()
        started.append(hub)
        return hub

    yield start
    for hub in started:
        hub.close()


@pytest.fixture
def agents():
    running: list[AgentThread] = []

    def start(settings, config_path=None) -> AgentThread:
        agent = AgentThread(settings, config_path).start()
        running.append(agent)
        return agent

    yield start
    for agent in running:
        if agent.thread.is_alive():
            agent.stop()


def confirm(settings, count: int, kind: str = "note") -> list[str]:
    """Store ``count`` confirmed actions, each in its own transaction as the UI would."""
    from kiosk import outbox
    from kiosk.store import make_engine, make_session_factory

    engine = make_engine(settings.database)
    sessions = make_session_factory(engine)
    ids = []
    for n in range(count):
        with sessions.begin() as session:
            ids.append(outbox.enqueue(session, kind, {"n": n}).id)
    engine.dispose()
    return ids


def rows(settings) -> dict[str, tuple[bool, int]]:
    """Every outbox row: id -> (delivered?, attempts)."""
    from sqlalchemy import select

    from kiosk.models import OutboxMessage
    from kiosk.store import make_engine, make_session_factory

    engine = make_engine(settings.database)
    with make_session_factory(engine)() as session:
        stored = session.scalars(select(OutboxMessage))
        found = {r.id: (r.delivered_at is not None, r.attempts) for r in stored}
    engine.dispose()
    return found


def wait_for(condition, timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_confirmed_actions_reach_the_hub_in_batches_and_are_marked_delivered_when_acked(settings, hubs, agents):
    """SEC-11: every confirmed action is sent, in batches of at most sync_batch_size, until acked."""
    import dataclasses

    settings = dataclasses.replace(settings, sync_batch_size=40, sync_max_inflight=3)
    hub = hubs()
    ids = confirm(settings, 250)
    agents(settings)
    hub.wait_until(lambda h: set(ids) <= set(h.seen), what="every action")
    wait_for(lambda: all(delivered for delivered, _ in rows(settings).values()), what="all delivered")
    assert max(len(b.actions) for b in hub.batches) == 40
    assert all(b.sender == "ange" for b in hub.batches)
    first = [a.msg_id for b in hub.batches for a in b.actions][: len(ids)]
    assert first == ids  # oldest first


def test_a_broker_puback_is_not_delivery_and_an_unacked_batch_is_sent_again_after_the_timeout(settings, hubs, agents):
    """SEC-11: rows stay pending until the hub's application ack; the hub never acking means resends."""
    import dataclasses

    settings = dataclasses.replace(settings, sync_ack_timeout_seconds=1.0, sync_backoff_max_seconds=2.0)
    hub = hubs(acking=False)
    ids = confirm(settings, 3)
    agents(settings)
    hub.wait_until(lambda h: len(h.batches) >= 1, what="the first batch")
    time.sleep(0.5)  # the broker has long PUBACKed it
    assert all(not delivered for delivered, _ in rows(settings).values())

    hub.wait_until(lambda h: len(h.batches) >= 2, what="a resend after the ack timeout")
    first, second = hub.batches[:2]
    assert [a.msg_id for a in first.actions] == [a.msg_id for a in second.actions] == ids
    assert first.msg_id != second.msg_id  # a resend is a new batch holding the same actions
    assert second.sent_at - first.sent_at >= 1000
    assert all(not delivered for delivered, _ in rows(settings).values())

    hub.acking = True
    wait_for(lambda: all(delivered for delivered, _ in rows(settings).values()), what="delivery once acked")
    assert all(attempts >= 2 for _, attempts in rows(settings).values())


def test_everything_unacked_is_sent_again_after_the_broker_restarts(settings, hubs, agents, mosquitto):
    """SEC-11: a reconnect resends at once what the hub has not acked (no waiting for the ack timeout)."""
    import dataclasses

    settings = dataclasses.replace(settings, sync_ack_timeout_seconds=60.0, sync_backoff_max_seconds=60.0)
    hub = hubs(acking=False)
    ids = confirm(settings, 5)
    agents(settings)
    hub.wait_until(lambda h: len(h.batches) == 1, what="the first batch")
    mosquitto.restart()
    hub.acking = True
    restarted = time.monotonic()
    wait_for(lambda: all(delivered for delivered, _ in rows(settings).values()), timeout=20, what="delivery")
    assert time.monotonic() - restarted < 30  # well before the 60 s ack timeout
    assert all(len(hub.batches_holding(i)) >= 2 for i in ids)


def test_the_heartbeat_reports_outbox_ack_certificate_and_clock_figures(settings, hubs, agents, mosquitto):
    """The hub learns depth, oldest age, last ack, certificate expiry and the kiosk clock's offset."""
    import dataclasses

    settings = dataclasses.replace(settings, sync_ack_timeout_seconds=1.0, sync_backoff_max_seconds=1.0)
    hub = hubs(acking=False, clock_ms=lambda: now_ms() - 5000)  # the hub's clock is 5 s behind the kiosk's
    confirm(settings, 2)
    agents(settings)
    hub.wait_until(lambda h: any(b.outbox_depth == 2 for b in h.heartbeats), what="a heartbeat with depth 2")
    before = next(b for b in hub.heartbeats if b.outbox_depth == 2)
    assert before.outbox_oldest_age_s is not None and before.outbox_oldest_age_s >= 0
    assert before.last_ack_at is None and before.clock_offset_ms is None
    assert before.reader_state == "unknown"
    assert before.version == version("tinget")
    cert = x509.load_pem_x509_certificate(mosquitto.device("ange").cert_file.read_bytes())
    assert before.cert_expires_at == int(cert.not_valid_after_utc.timestamp() * 1000)

    hub.acking = True
    hub.wait_until(lambda h: h.heartbeats[-1].last_ack_at is not None, what="a heartbeat after the ack")
    after = hub.heartbeats[-1]
    assert after.outbox_depth == 0 and after.outbox_oldest_age_s is None
    assert abs(after.last_ack_at - now_ms()) < 5000
    assert 4000 <= after.clock_offset_ms <= 6000


def test_the_agent_is_online_while_it_runs_and_leaves_offline_retained(settings, agents, mqtt_client):
    """SEC-17: the kiosk publishes only as itself, under its own up/ topics, with its device certificate."""
    watcher = mqtt_client("hub")
    watcher.subscribe(topics.device_up("ange", topics.STATE))
    agent = agents(settings)
    online = watcher.next_message()
    assert decode_up(online.topic, online.payload).state == "online"
    assert agent.stop() == 0
    offline = watcher.next_message()
    assert decode_up(offline.topic, offline.payload).state == "offline"
    late = mqtt_client("hub")
    late.subscribe(topics.device_up("ange", topics.STATE))
    retained = late.next_message()
    assert retained.retain is True
    assert decode_up(retained.topic, retained.payload).state == "offline"


def test_a_command_delivered_twice_is_executed_once(settings, hubs, agents):
    """A resent restart command does not restart the kiosk again (the id is recorded before exiting)."""
    from sqlalchemy import select

    from kiosk.models import ExecutedCommand
    from kiosk.store import make_engine, make_session_factory

    hub = hubs()
    first = agents(settings)
    time.sleep(0.5)  # subscribed
    restart = hub.command("ange", "restart")
    assert first.join() == 75

    second = agents(settings)
    hub.command("ange", "restart", command_id=restart)  # the same command again
    reload = hub.command("ange", "reload")
    engine = make_engine(settings.database)
    sessions = make_session_factory(engine)

    def executed() -> list[tuple[str, str]]:
        with sessions() as session:
            return [(c.command_id, c.name) for c in session.scalars(select(ExecutedCommand))]

    wait_for(lambda: len(executed()) == 2, what="the reload to run")
    engine.dispose()
    assert sorted(executed()) == sorted([(restart, "restart"), (reload, "reload")])
    assert second.thread.is_alive()
    assert second.stop() == 0


def test_set_versions_are_handed_to_the_replica_on_the_agents_own_thread(settings, hubs, agents, monkeypatch):
    """paho's thread only queues; the replica (which uses the database) runs on the agent's main thread."""
    from kiosk.sync import replica_port

    calls: list[tuple[str, SetVersion]] = []
    monkeypatch.setattr(
        replica_port,
        "on_set_version",
        lambda engine, settings, message: calls.append((threading.current_thread().name, message)) or False,
    )
    hub = hubs()
    notice = SetVersion.create(sender=HUB_SENDER, name="polls", version=3, sha256="a" * 64, url="/device/v1/sets/polls")
    published = hub.client.publish(topics.set_version("polls"), to_payload(notice), qos=1, retain=True)
    published.wait_for_publish(5)
    agents(settings)
    wait_for(lambda: calls, what="the set version")
    thread, message = calls[0]
    assert thread == "sync-agent"
    assert message == notice
