"""The real pipeline for the benchmark: a Mosquitto, a hub ingest process and kiosk sync agent processes.

Everything runs as it does in production (separate processes, TLS with device certificates, SQLite with
``synchronous=FULL`` on the kiosk), on a scratch folder that is removed afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from kiosk import outbox
from kiosk.models import OutboxMessage
from kiosk.settings import load_kiosk_settings
from kiosk.store import make_engine, make_session_factory, upgrade
from provisioning.pki import PkiLayout, ensure_device, ensure_pki
from tests.support.mosquitto import MosquittoBroker  # the same broker runner the tests use
from tinget.demo import write_toml

CLI = [sys.executable, "-m", "tinget.cli"]


@dataclass
class Kiosk:
    """One simulated kiosk: its settings file, its database, and its sync agent process when running."""

    device_id: str
    config: Path
    database: Path
    agent: subprocess.Popen[bytes] | None = None
    rss_peak_kb: int = 0
    engine: object = field(default=None, repr=False)

    def sessions(self):
        if self.engine is None:
            self.engine = make_engine(self.database)
        return make_session_factory(self.engine)  # type: ignore[arg-type]

    def start_agent(self, log: Path) -> None:
        with log.open("ab") as out:
            self.agent = subprocess.Popen(
                [*CLI, "kiosk", "sync", "--config", str(self.config)], stdout=out, stderr=subprocess.STDOUT
            )

    def stop_agent(self) -> None:
        if self.agent is not None and self.agent.poll() is None:
            self.agent.terminate()
            self.agent.wait(timeout=20)
        self.agent = None

    def sample_rss(self) -> None:
        if self.agent is None:
            return
        try:
            for line in Path(f"/proc/{self.agent.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    self.rss_peak_kb = max(self.rss_peak_kb, int(line.split()[1]))
        except OSError:
            pass

    def confirm(self, count: int, *, one_transaction: bool) -> None:
        """Store ``count`` confirmed actions, as the UI would (one transaction each) or all at once."""
        factory = self.sessions()
        if one_transaction:
            with factory.begin() as session:
                for i in range(count):
                    outbox.enqueue(session, "bench", {"n": i}, capacity=10_000_000)
            return
        for i in range(count):
            with factory.begin() as session:
                outbox.enqueue(session, "bench", {"n": i}, capacity=10_000_000)

    def pending(self) -> int:
        with self.sessions()() as session:
            return outbox.count_pending(session)

    def latencies_ms(self) -> list[float]:
        """Confirmed → marked delivered, for every delivered row."""
        with self.sessions()() as session:
            rows = session.execute(
                select(OutboxMessage.created_at, OutboxMessage.delivered_at).where(
                    OutboxMessage.delivered_at.is_not(None)
                )
            ).all()
        return [(d - c).total_seconds() * 1000 for c, d in rows]


class BenchSystem:
    """Broker + hub ingest + N kiosks in ``root``."""

    def __init__(self, root: Path, kiosks: int) -> None:
        self.root = root
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        pki_dir = root / "pki"
        ensure_pki(pki_dir)
        self.layout = PkiLayout(pki_dir)
        ids = [f"bench-{i:02d}" for i in range(1, kiosks + 1)]
        for device_id in ids:
            ensure_device(pki_dir, device_id)
        self.broker = MosquittoBroker(pki_dir, root / "broker").start()
        self.hub_config = root / "hub.toml"
        write_toml(
            self.hub_config,
            {
                "database_url": f"sqlite:///{root / 'hub.db'}",
                "data_dir": root / "hub",
                "mqtt_port": self.broker.port,
                "mqtt_ca_file": self.layout.chain,
                "mqtt_cert_file": self.layout.hub_client.cert_file,
                "mqtt_key_file": self.layout.hub_client.key_file,
                "ingest_client_id": "bench-ingest",
                "log_level": "warning",
                "demo_mode": True,
            },
            "bench hub",
        )
        subprocess.run(
            [*CLI, "hub", "db", "upgrade", "--config", str(self.hub_config)], check=True, capture_output=True
        )
        self.kiosks = [self._kiosk(device_id) for device_id in ids]
        self.ingest: subprocess.Popen[bytes] | None = None

    def _kiosk(self, device_id: str) -> Kiosk:
        cred = self.layout.device(device_id)
        config = self.root / f"{device_id}.toml"
        database = self.root / device_id / "kiosk.db"
        write_toml(
            config,
            {
                "device_id": device_id,
                "office_name": device_id,
                "data_dir": self.root / device_id,
                "mqtt_port": self.broker.port,
                "mqtt_ca_file": self.layout.chain,
                "mqtt_cert_file": cred.cert_file,
                "mqtt_key_file": cred.key_file,
                "heartbeat_seconds": 5,
                "log_level": "warning",
                "demo_mode": True,
            },
            f"bench kiosk {device_id}",
        )
        engine = make_engine(database)
        upgrade(engine, load_kiosk_settings(config).device_id)
        engine.dispose()
        return Kiosk(device_id, config, database)

    def start_ingest(self) -> None:
        with (self.logs / "ingest.log").open("ab") as out:
            self.ingest = subprocess.Popen(
                [*CLI, "hub", "ingest", "--config", str(self.hub_config)], stdout=out, stderr=subprocess.STDOUT
            )
        time.sleep(1.5)  # connect and subscribe before the clock starts

    def start_agents(self, kiosks: list[Kiosk] | None = None) -> None:
        for kiosk in kiosks or self.kiosks:
            kiosk.start_agent(self.logs / f"{kiosk.device_id}.log")

    def wait_drained(self, kiosks: list[Kiosk], timeout: float = 300.0) -> float:
        """Seconds until every kiosk's outbox is empty, sampling the agents' memory meanwhile."""
        started = time.perf_counter()
        deadline = time.monotonic() + timeout
        while any(k.pending() for k in kiosks):
            for k in kiosks:
                k.sample_rss()
            if time.monotonic() > deadline:
                raise RuntimeError("the outboxes did not drain in time; see " + str(self.logs))
            time.sleep(0.005)
        return time.perf_counter() - started

    def close(self) -> None:
        for kiosk in self.kiosks:
            kiosk.stop_agent()
            if kiosk.engine is not None:
                kiosk.engine.dispose()  # type: ignore[attr-defined]
        if self.ingest is not None and self.ingest.poll() is None:
            self.ingest.terminate()
            self.ingest.wait(timeout=20)
        self.broker.stop()


def cpu_count() -> int:
    """Cores this process may use."""
    return len(os.sched_getaffinity(0))
