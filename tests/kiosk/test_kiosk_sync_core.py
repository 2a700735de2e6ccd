"""The sync agent's plain-Python core, with a fake clock: in-flight batches, backoff, clock offset, packing,
decoding what the hub sends, commands executed once."""

from __future__ import annotations

import pytest

from kiosk.sync.batches import Pending, pack
from kiosk.sync.clock import ClockOffset
from kiosk.sync.inflight import Backoff, InFlight
from protocol import topics
from protocol.codec import DecodeError
from protocol.messages import (
    HUB_SENDER,
    MAX_PAYLOAD_SIZE,
    Ack,
    Command,
    SetVersion,
    new_message_id,
    to_payload,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def inflight(clock: FakeClock, *, rand: float = 0.5, max_batches: int = 2) -> InFlight:
    return InFlight(max_batches, Backoff(ack_timeout=10, cap=60), clock=clock, rand=lambda: rand)


def test_the_first_wait_is_the_ack_timeout_and_later_ones_double_up_to_the_cap_with_jitter():
    backoff = Backoff(ack_timeout=10, cap=60)
    assert [backoff.wait(1, r) for r in (0.0, 0.99)] == [10, 10]
    waits = [backoff.wait(n, 0.999999) for n in (2, 3, 4, 5, 50)]
    assert waits == pytest.approx([20, 40, 60, 60, 60], rel=1e-5)
    assert [backoff.wait(n, 0.0) for n in (2, 3, 4, 5)] == [10, 20, 30, 30]  # the lower half of the jitter
    assert all(backoff.wait(n, r / 10) >= 10 for n in range(1, 40) for r in range(10))


def test_only_max_batches_are_in_flight_and_an_ack_frees_a_slot(clock):
    flight = inflight(clock)
    assert flight.room() == 2
    flight.sent("b1", ["a1", "a2"], wall_ms=0)
    flight.sent("b2", ["a3"], wall_ms=0)
    assert flight.room() == 0
    assert flight.is_busy("a1") and flight.busy_count == 3
    assert flight.acked("b1", ["a1", "a2"]) is not None
    assert flight.room() == 1
    assert not flight.is_busy("a1")
    assert flight.acked("b1", ["a1", "a2"]) is None  # a repeated ack changes nothing


def test_a_batch_without_an_ack_expires_after_its_wait_and_its_actions_are_due_again(clock):
    flight = inflight(clock)
    flight.sent("b1", ["a1"], wall_ms=0)
    clock.advance(9.9)
    assert flight.expire() == []
    assert flight.next_deadline() == pytest.approx(1010)
    clock.advance(0.1)
    assert [b.batch_id for b in flight.expire()] == ["b1"]
    assert not flight.is_busy("a1") and flight.room() == 2

    resent = flight.sent("b2", ["a1"], wall_ms=0)  # the second attempt waits longer: 20 * (0.5 + 0.5/2)
    assert resent.deadline - clock.now == pytest.approx(15)
    assert flight.attempts("a1") == 2
    flight.acked("b2", ["a1"])
    assert flight.attempts("a1") == 0


def test_an_ack_for_a_resent_action_clears_it_from_an_older_batch_too(clock):
    flight = inflight(clock)
    flight.sent("b1", ["a1", "a2"], wall_ms=0)
    clock.advance(11)
    flight.expire()
    flight.sent("b2", ["a1"], wall_ms=0)
    flight.acked("b-old", ["a1"])  # the hub acked the first batch after all (its ack was late)
    assert not flight.is_busy("a1")
    clock.advance(100)
    assert [b.batch_id for b in flight.expire()] == ["b2"]
    assert flight.busy_count == 0


def test_a_reconnect_keeps_a_batch_already_sent_on_the_new_connection(clock):
    """The agent may publish on a new connection before it handles the news of it: that batch is not resent."""
    flight = inflight(clock)
    flight.sent("old", ["a1"], wall_ms=0)
    connected_at = clock()
    clock.advance(0.002)
    flight.sent("new", ["a2"], wall_ms=0)
    assert flight.forget(sent_before=connected_at + 0.001) == 1
    assert not flight.is_busy("a1") and flight.is_busy("a2") and len(flight) == 1


def test_a_reconnect_forgets_every_batch_so_everything_unacked_is_due(clock):
    flight = inflight(clock)
    flight.sent("b1", ["a1"], wall_ms=0)
    flight.sent("b2", ["a2"], wall_ms=0)
    assert flight.forget() == 2
    assert flight.room() == 2 and flight.busy_count == 0 and flight.next_deadline() is None
    assert flight.attempts("a1") == 1


def test_an_action_cannot_be_in_two_batches_at_once(clock):
    flight = inflight(clock)
    flight.sent("b1", ["a1"], wall_ms=0)
    with pytest.raises(ValueError, match="already in flight"):
        flight.sent("b2", ["a1"], wall_ms=0)


def test_the_clock_offset_is_the_midpoint_estimate_of_the_fastest_recent_round_trip():
    offset = ClockOffset()
    assert offset.estimate_ms() is None
    offset.add(sent_ms=10_000, hub_ms=5_300, received_ms=10_600)  # round trip 600 ms: offset 5000 ± 300
    offset.add(sent_ms=20_000, hub_ms=15_010, received_ms=20_020)  # round trip 20 ms: offset 5000 ± 10
    offset.add(sent_ms=30_000, hub_ms=24_000, received_ms=30_900)
    assert offset.estimate_ms() == 5000
    assert offset.add(sent_ms=40_000, hub_ms=1, received_ms=39_000) is None  # the kiosk clock stepped back


def _pending(n: int, body: bytes = b'{"n":1}') -> list[Pending]:
    return [Pending(new_message_id(), "note", 1_700_000_000_000, body) for _ in range(n)]


def test_rows_are_packed_in_order_into_batches_of_at_most_the_batch_size():
    rows = _pending(250)
    packed = pack(rows, "ange", 100)
    assert [len(p.batch.actions) for p in packed] == [100, 100, 50]
    assert [i for p in packed for i in p.action_ids] == [r.msg_id for r in rows]
    assert len({p.batch.msg_id for p in packed}) == 3
    assert packed[0].payload == to_payload(packed[0].batch)


def test_big_bodies_are_packed_so_that_every_payload_fits_the_protocol_limit():
    body = b'{"text":"' + b"x" * 60_000 + b'"}'
    packed = pack(_pending(10, body), "ange", 100)
    assert len(packed) >= 3
    assert all(len(p.payload) <= MAX_PAYLOAD_SIZE for p in packed)
    assert sum(len(p.batch.actions) for p in packed) == 10


def test_only_the_hubs_acks_commands_and_set_versions_for_this_device_are_accepted():
    """SEC-19: what does not come from the hub, or is for another device, is refused."""
    from kiosk.sync.agent import decode_down

    ack = Ack.create(sender=HUB_SENDER, batch_id=new_message_id(), acked=(new_message_id(),))
    assert decode_down("ange", topics.device_down("ange", topics.ACK), to_payload(ack)) == ack
    command = Command.create(sender=HUB_SENDER, command_id=new_message_id(), name="reload")
    assert decode_down("ange", topics.device_down("ange", topics.COMMAND), to_payload(command)) == command
    notice = SetVersion.create(sender=HUB_SENDER, name="polls", version=1, sha256="b" * 64, url="/x")
    assert decode_down("ange", topics.set_version("polls"), to_payload(notice)) == notice

    with pytest.raises(DecodeError, match="not us"):
        decode_down("ange", topics.device_down("follinge", topics.ACK), to_payload(ack))
    with pytest.raises(DecodeError, match="not the hub"):
        forged = Ack.create(sender="follinge", batch_id=new_message_id(), acked=())
        decode_down("ange", topics.device_down("ange", topics.ACK), to_payload(forged))
    with pytest.raises(DecodeError, match="not the topic's"):
        decode_down("ange", topics.set_version("roll"), to_payload(notice))
    with pytest.raises(DecodeError, match="expected 'command'"):
        decode_down("ange", topics.device_down("ange", topics.COMMAND), to_payload(ack))
    with pytest.raises(DecodeError):
        decode_down("ange", topics.device_down("ange", topics.ACK), b"\xff not json")


@pytest.fixture
def sessions(tmp_path):
    from kiosk.store import make_engine, make_session_factory, upgrade

    engine = make_engine(tmp_path / "kiosk.db")
    upgrade(engine, "ange")
    yield make_session_factory(engine)
    engine.dispose()


def test_a_command_id_is_executed_once_and_restart_asks_for_exit_code_75(sessions):
    from kiosk.sync.commands import RESTART_EXIT_CODE, execute_once

    runs: list[str] = []
    handlers = {"reload": lambda: runs.append("reload"), "resync": lambda: runs.append("resync")}
    reload = Command.create(sender=HUB_SENDER, command_id=new_message_id(), name="reload")
    assert execute_once(sessions, reload, handlers) is None
    assert execute_once(sessions, reload, handlers) is None
    assert runs == ["reload"]

    restart = Command.create(sender=HUB_SENDER, command_id=new_message_id(), name="restart")
    assert execute_once(sessions, restart, handlers) == RESTART_EXIT_CODE == 75
    assert execute_once(sessions, restart, handlers) is None  # after the restart, the resent one is skipped


def test_a_command_whose_effect_failed_is_not_recorded_and_runs_when_sent_again(sessions):
    from kiosk.sync.commands import execute_once

    def broken() -> None:
        raise RuntimeError("hub unreachable")

    resync = Command.create(sender=HUB_SENDER, command_id=new_message_id(), name="resync")
    with pytest.raises(RuntimeError):
        execute_once(sessions, resync, {"resync": broken})
    runs: list[str] = []
    execute_once(sessions, resync, {"resync": lambda: runs.append("resync")})
    assert runs == ["resync"]


def test_without_the_replica_module_set_versions_are_logged_and_ignored(monkeypatch, caplog):
    from kiosk.sync import replica_port

    monkeypatch.setattr(replica_port, "REPLICA_MODULE", "kiosk.no_such_replica")
    monkeypatch.setattr(replica_port, "_warned", set())
    notice = SetVersion.create(sender=HUB_SENDER, name="polls", version=1, sha256="b" * 64, url="/x")
    with caplog.at_level("WARNING", logger="kiosk.sync.replica_port"):
        assert replica_port.on_set_version(None, None, notice) is False  # type: ignore[arg-type]
        replica_port.resync(None, None)  # type: ignore[arg-type]
    assert "replica module" in caplog.text


@pytest.fixture
def agent_config(tmp_path, pki):
    device = pki.device("ange")

    def write(**extra: object) -> object:
        lines = [
            'device_id = "ange"',
            'office_name = "Änge"',
            f'data_dir = "{tmp_path / "data"}"',
            f'mqtt_ca_file = "{pki.chain}"',
            f'mqtt_cert_file = "{device.cert_file}"',
            f'mqtt_key_file = "{device.key_file}"',
            *(f"{key} = {value}" for key, value in extra.items()),
        ]
        path = tmp_path / "kiosk.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


def test_reload_rereads_the_settings_file_and_keeps_the_old_ones_when_it_is_invalid(agent_config):
    from kiosk.settings import load_kiosk_settings
    from kiosk.store import make_engine, upgrade
    from kiosk.sync.agent import SyncAgent

    path = agent_config(sync_max_inflight=3)
    settings = load_kiosk_settings(path)
    engine = make_engine(settings.database)
    upgrade(engine, "ange")
    engine.dispose()
    agent = SyncAgent(settings, config_path=path)
    try:
        agent_config(sync_max_inflight=7, sync_batch_size=25)
        agent.reload()
        assert (agent.settings.sync_batch_size, agent.inflight.max_batches) == (25, 7)
        agent_config(sync_batch_size=1000)  # invalid: more than a batch may hold
        agent.reload()
        assert agent.settings.sync_batch_size == 25
    finally:
        agent.engine.dispose()


def test_a_full_outbox_raises_an_alarm_in_the_agents_log(agent_config, caplog):
    from kiosk import outbox
    from kiosk.settings import load_kiosk_settings
    from kiosk.store import make_engine, make_session_factory, upgrade
    from kiosk.sync.agent import SyncAgent

    settings = load_kiosk_settings(agent_config(outbox_capacity=2))
    engine = make_engine(settings.database)
    upgrade(engine, "ange")
    with make_session_factory(engine).begin() as session:
        for n in range(2):
            outbox.enqueue(session, "note", {"n": n}, capacity=2)
    engine.dispose()
    agent = SyncAgent(settings)
    try:
        with caplog.at_level("ERROR", logger="kiosk.sync.agent"):
            agent.send_heartbeat()  # not connected: nothing is published, the alarm is still logged
        assert "ALARM: the outbox is full" in caplog.text
    finally:
        agent.engine.dispose()


class FakeLink:
    """Stands in for `kiosk.sync.link.BrokerLink` in drain tests: connected, with a settable queue room."""

    def __init__(self, room: int, takes: int) -> None:
        self.connected = True
        self.room, self.takes = room, takes
        self.published: list[bytes] = []

    def queue_room(self) -> int:
        return self.room

    def publish(self, kind: str, payload: bytes, qos: int = 1) -> bool:
        if len(self.published) >= self.takes:
            return False  # paho said MQTT_ERR_QUEUE_SIZE
        self.published.append(payload)
        return True

    def close(self) -> None:
        pass


def test_draining_stops_at_the_in_flight_limit_and_when_paho_takes_no_more(agent_config):
    from kiosk import outbox
    from kiosk.settings import load_kiosk_settings
    from kiosk.store import make_engine, make_session_factory, upgrade
    from kiosk.sync.agent import SyncAgent

    settings = load_kiosk_settings(agent_config(sync_batch_size=10, sync_max_inflight=3))
    engine = make_engine(settings.database)
    upgrade(engine, "ange")
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        for n in range(100):
            outbox.enqueue(session, "note", {"n": n})
    agent = SyncAgent(settings)
    try:
        agent.link = FakeLink(room=100, takes=2)  # type: ignore[assignment]
        assert agent.drain() == 20  # paho refused the third batch: its rows stay due
        assert agent.drain() == 0
        agent.link = FakeLink(room=100, takes=100)  # type: ignore[assignment]
        assert agent.drain() == 10  # three batches in flight at most
        assert agent.drain() == 0
        agent.link = FakeLink(room=0, takes=100)  # type: ignore[assignment]
        agent.inflight.forget()
        assert agent.drain() == 0  # paho's queue is full: nothing is handed over
        with sessions() as session:
            assert outbox.depth(session) == 100  # handed to the broker is not delivered
            stored = {m.id: m.attempts for m in outbox.pending(session, 200)}
        assert set(stored.values()) == {0}  # a first send costs no write; only resends are recorded
    finally:
        agent.engine.dispose()
        engine.dispose()
