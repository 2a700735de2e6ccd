"""`tinget kiosk sync` as its own process, killed -9 mid-stream: no confirmed action is lost (SEC-11)."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.kiosk.fake_hub import FakeHub

pytestmark = [pytest.mark.broker, pytest.mark.slow]

TINGET = Path(sys.executable).parent / "tinget"


@pytest.fixture
def config_file(tmp_path, mosquitto):
    device = mosquitto.device("ange")
    path = tmp_path / "kiosk.toml"
    path.write_text(
        "\n".join(
            [
                'device_id = "ange"',
                'office_name = "Änge"',
                f'data_dir = "{tmp_path / "data"}"',
                'log_level = "warning"',
                "heartbeat_seconds = 1",
                "sync_batch_size = 20",
                "sync_max_inflight = 4",
                "sync_ack_timeout_seconds = 2.0",
                "sync_backoff_max_seconds = 4.0",
                "[mqtt]",
                f'host = "{mosquitto.host}"',
                f"port = {mosquitto.port}",
                f'ca_file = "{mosquitto.ca_file}"',
                f'cert_file = "{device.cert_file}"',
                f'key_file = "{device.key_file}"',
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    return path


def start_agent(config_file: Path, tmp_path: Path, n: int) -> subprocess.Popen[bytes]:
    with (tmp_path / f"sync-{n}.log").open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [str(TINGET), "kiosk", "sync", "--config", str(config_file)], stdout=log, stderr=subprocess.STDOUT
        )


def test_a_sync_agent_killed_mid_stream_loses_nothing(config_file, tmp_path, mosquitto):
    """SEC-11: kill -9 at random moments while actions are confirmed; afterwards the hub has every one of them
    (at least once: the hub's ingest absorbs duplicates) and the kiosk's outbox drains."""
    from kiosk import outbox
    from kiosk.settings import load_kiosk_settings
    from kiosk.store import make_engine, make_session_factory, upgrade

    settings = load_kiosk_settings(config_file)
    engine = make_engine(settings.database)
    upgrade(engine, "ange")
    sessions = make_session_factory(engine)
    hub = FakeHub(mosquitto).start()
    confirmed: list[str] = []

    def resident_actions() -> None:  # the kiosk UI confirming actions, one transaction each
        for n in range(400):
            with sessions.begin() as session:
                confirmed.append(outbox.enqueue(session, "note", {"n": n}).id)
            time.sleep(0.004)

    producer = threading.Thread(target=resident_actions)
    producer.start()
    agents = [start_agent(config_file, tmp_path, 0)]
    try:
        for n in (1, 2):
            before = len(hub.batches)  # the new agent is connected and mid-stream once it has sent 3 batches
            hub.wait_until(lambda h, b=before: len(h.batches) >= b + 3, timeout=20, what="a stream")
            time.sleep(random.uniform(0, 0.2))
            agents[-1].send_signal(signal.SIGKILL)
            agents[-1].wait(5)
            agents.append(start_agent(config_file, tmp_path, n))
        producer.join(20)
        hub.wait_until(lambda h: set(confirmed) <= set(h.seen), timeout=30, what="every confirmed action")
        deadline = time.monotonic() + 20
        while True:
            with sessions() as session:
                if outbox.depth(session) == 0:
                    break
            assert time.monotonic() < deadline, "the outbox did not drain"
            time.sleep(0.1)
        assert set(hub.seen) == set(confirmed)  # nothing unconfirmed appears
        assert [s.state for s in hub.states].count("offline") >= 2  # the broker sent the last will each time
        # The outbox may have drained before the last agent even started: let it come up before stopping it.
        hub.wait_until(
            lambda h: [s.state for s in h.states].count("online") >= len(agents), timeout=20, what="the agent online"
        )
        agents[-1].send_signal(signal.SIGTERM)
        assert agents[-1].wait(10) == 0
    finally:
        producer.join(20)
        for agent in agents:
            if agent.poll() is None:
                agent.kill()
                agent.wait(5)
        hub.close()
        engine.dispose()
