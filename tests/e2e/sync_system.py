"""The sync path as separate, real processes, for the fault-injection tests (tests/e2e/test_sync_faults.py).

`SyncSystem(broker, folder, seed)` runs, around a `tests.support.mosquitto.MosquittoBroker`:

- the hub: a SQLite file migrated with ``tinget hub db upgrade`` and ``tinget hub ingest`` as a subprocess
  (`tests.hub.test_hub_ingest_harness.IngestProcess`, restarted with the same ``ingest_client_id``);
- the kiosk ``ange``: its SQLite file (migrated), ``tinget kiosk sync`` as a subprocess, and "kiosk UI"
  writers: subprocesses that confirm actions one by one, each in its own transaction through
  `kiosk.outbox.enqueue`, and say so on stdout (``begin <id>`` before the commit, ``done <id>`` after it).

Every child runs in its own session and dies with the test run (PR_SET_PDEATHSIG); `SyncSystem.close` kills
them all. The module doubles as the children's entry point (stdlib imports only at the top, so a writer starts
fast)::

    python -m tests.e2e.sync_system write --database F [--pause S] [--hold S] [--count N]
    python -m tests.e2e.sync_system sync --config F   # tinget kiosk sync, with the clock of $TINGET_TEST_CLOCK

``TINGET_TEST_CLOCK`` skews a child's wall clock and `Child.step_clock` steps it (see `install_clock`): the
product has no clock seam, so the child patches ``time.time``/``time.time_ns`` and the kiosk modules'
``datetime.now`` in itself.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tinget.supervisor import die_with_parent

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tests.support.mosquitto import MosquittoBroker

ROOT = Path(__file__).resolve().parents[2]
DEVICE = "ange"
CLOCK_ENV = "TINGET_TEST_CLOCK"  # "<offset ms>,<offset ms>,…": the first at start, the next at each SIGUSR1
INGEST_CLIENT_ID = "hub-ingest-faults"
WAIT = 30.0  # the longest any recovery may take
KIOSK_SETTINGS: dict[str, Any] = {  # tight, so that a test sees many timeouts and resends in a few seconds
    "log_level": "info",
    "heartbeat_seconds": 1,
    "sync_batch_size": 20,
    "sync_max_inflight": 4,
    "sync_ack_timeout_seconds": 1.0,
    "sync_backoff_max_seconds": 2.0,
}


_die_with_parent = die_with_parent(signal.SIGKILL)  # nothing a test starts may outlive a killed run


def wait_for(check: Callable[[], Any], timeout: float, what: Callable[[], str] | str) -> Any:
    """Poll ``check`` until it returns something truthy; AssertionError with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {what if isinstance(what, str) else what()}"
            )
        time.sleep(0.05)


class Child:
    """One subprocess: its own session, a log file, dies with the test run; `kill` (-9) or `terminate`."""

    def __init__(
        self, name: str, argv: list[str], log_file: Path, env: dict[str, str] | None = None, *, piped: bool = False
    ) -> None:
        self.name = name
        self.log_file = log_file
        with log_file.open("ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                argv,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if piped else log,
                stderr=log,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                preexec_fn=_die_with_parent,  # no child may outlive a killed test run
            )

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL and reap: a crash at whatever instruction it was at."""
        if self.running:
            self.process.kill()
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM and wait (SIGKILL after ``timeout``); the exit code."""
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return int(self.process.returncode)

    def step_clock(self) -> None:
        """Step a child started with `CLOCK_ENV` to its next clock offset (SIGUSR1; see `install_clock`)."""
        assert self.running, f"{self.name} is not running"
        self.process.send_signal(signal.SIGUSR1)

    def log_tail(self, lines: int = 15) -> str:
        text = self.log_file.read_text(encoding="utf-8", errors="replace") if self.log_file.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class Writer(Child):
    """The kiosk UI confirming actions; `confirmed` holds the ids it printed after their commit."""

    def __init__(self, name: str, argv: list[str], log_file: Path, env: dict[str, str] | None = None) -> None:
        super().__init__(name, argv, log_file, env, piped=True)
        self.confirmed: list[str] = []
        self.begun: str | None = None  # the id of the transaction in hand (printed before its commit)
        assert self.process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[bytes]) -> None:
        with stream:
            for raw in stream:
                word, _, action_id = raw.decode("ascii").strip().partition(" ")
                if word == "begin":
                    self.begun = action_id
                elif word == "done":
                    assert action_id == self.begun, f"{self.name} confirmed {action_id}, not {self.begun}"
                    self.confirmed.append(action_id)
                    self.begun = None

    def finished(self, timeout: float = 10.0) -> Writer:
        """Wait until its stdout is closed (it exited or was killed) and every line is read."""
        self._reader.join(timeout)
        assert not self._reader.is_alive(), f"{self.name}'s output did not end"
        return self

    def wait_confirmed(self, count: int) -> None:
        """Until it has confirmed ``count`` actions."""
        wait_for(lambda: len(self.confirmed) >= count, WAIT, f"{self.name} to confirm {count} actions")

    def stop(self) -> None:
        """SIGTERM: it finishes the action in hand (commit and print) and exits 0."""
        code = self.terminate()
        assert code == 0, f"{self.name} exited with {code}:\n{self.log_tail()}"
        self.finished()


class SyncSystem:
    """Hub (SQLite + ingest process) and kiosk (SQLite + sync agent + UI writers) on one broker."""

    def __init__(self, broker: MosquittoBroker, folder: Path, seed: int) -> None:
        from hub.db import make_engine as hub_engine
        from kiosk.store import make_engine as kiosk_engine
        from tests.hub.test_hub_ingest_harness import IngestProcess

        self.broker, self.folder, self.seed = broker, folder, seed
        (folder / "logs").mkdir(parents=True)
        self.hub_db, self.kiosk_db = folder / "hub" / "hub.db", folder / "kiosk" / "kiosk.db"
        self.ingest = IngestProcess(f"sqlite:///{self.hub_db}", broker, folder / "hub", INGEST_CLIENT_ID)
        self.kiosk_config = self._write_kiosk_config()
        self.children: list[Child] = []
        self.writers: list[Writer] = []
        self.agent: Child | None = None
        self.hub_engine: Engine = hub_engine(f"sqlite:///{self.hub_db}")
        self.kiosk_engine: Engine = kiosk_engine(self.kiosk_db)

    # ---- start-up ---------------------------------------------------------------------------------------------
    def _write_kiosk_config(self) -> Path:
        device = self.broker.device(DEVICE)
        values = {"device_id": DEVICE, "office_name": "Änge", "data_dir": str(self.folder / "kiosk"), **KIOSK_SETTINGS}
        mqtt = {"host": self.broker.host, "port": self.broker.port, "ca_file": str(self.broker.ca_file)}
        mqtt |= {"cert_file": str(device.cert_file), "key_file": str(device.key_file)}
        lines = [f"{key} = {json.dumps(value)}" for key, value in values.items()]
        lines += ["[mqtt]", *(f"{key} = {json.dumps(value)}" for key, value in mqtt.items())]
        path = self.folder / "kiosk.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def prepare(self) -> SyncSystem:
        """Migrate both databases: the hub's with ``tinget hub db upgrade`` (meanwhile the kiosk's in here)."""
        from tests.kiosk.fake_hub import upgraded

        command = [sys.executable, "-m", "tinget.cli", "hub", "db", "upgrade", "--config", str(self.ingest.config)]
        hub_upgrade = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        upgraded(self.kiosk_db, DEVICE)
        output, _ = hub_upgrade.communicate(timeout=60)
        assert hub_upgrade.returncode == 0, output.decode(errors="replace")
        return self

    def start(self, *, clock: str | None = None, **writer_options: Any) -> SyncSystem:
        """Ingest, sync agent and a writer, all at once; return when confirmed actions reach the hub."""
        self.start_ingest(wait=False)
        self.start_agent(clock=clock)
        self.start_writer(clock=clock, **writer_options)
        self.ingest.wait_subscribed(WAIT)
        self.wait_flowing()
        return self

    def start_ingest(self, *, wait: bool = True) -> None:
        """(Re)start ``tinget hub ingest`` with the same client id (the broker kept its session)."""
        self.ingest.start()
        if wait:
            self.ingest.wait_subscribed(WAIT)

    def start_agent(self, *, clock: str | None = None) -> Child:
        """(Re)start the sync agent: ``tinget kiosk sync``, or with a skewed clock through this module."""
        n = sum(1 for c in self.children if c.name.startswith("agent"))
        if clock is None:
            argv = [sys.executable, "-m", "tinget.cli", "kiosk", "sync", "--config", str(self.kiosk_config)]
        else:
            argv = [sys.executable, "-m", "tests.e2e.sync_system", "sync", "--config", str(self.kiosk_config)]
        env = {CLOCK_ENV: clock} if clock else None
        self.agent = Child(f"agent-{n}", argv, self.folder / "logs" / f"agent-{n}.log", env)
        self.children.append(self.agent)
        return self.agent

    def start_writer(
        self, *, pause: float = 0.01, hold: float = 0.0, count: int = 100_000, clock: str | None = None
    ) -> Writer:
        """A new kiosk UI process confirming up to ``count`` actions, ``pause`` s apart, each transaction held
        open ``hold`` s after its outbox row is written."""
        n = len(self.writers)
        argv = [sys.executable, "-m", "tests.e2e.sync_system", "write", "--database", str(self.kiosk_db)]
        argv += ["--pause", str(pause), "--hold", str(hold), "--count", str(count), "--tag", f"w{n}"]
        env = {CLOCK_ENV: clock} if clock else None
        writer = Writer(f"writer-{n}", argv, self.folder / "logs" / f"writer-{n}.log", env)
        self.writers.append(writer)
        self.children.append(writer)
        return writer

    @property
    def writer(self) -> Writer:
        return self.writers[-1]

    # ---- what the two databases hold ----------------------------------------------------------------------------
    @property
    def confirmed(self) -> list[str]:
        """Every id a writer printed after its commit: the actions confirmed to a person."""
        return [action_id for writer in self.writers for action_id in writer.confirmed]

    def hub(self, read: Callable[..., Any], *args: Any) -> Any:
        """``read(session, *args)`` in a read-only unit of work on the hub database."""
        from hub.db import make_session_factory, unit_of_work

        with unit_of_work(make_session_factory(self.hub_engine), write=False) as session:
            return read(session, *args)

    def hub_ids(self) -> list[str]:
        """The msg_ids in the hub's ``received_actions`` for the kiosk, one per row."""
        from hub.ingest.received import received_ids

        return list(self.hub(received_ids, DEVICE))

    def hub_count(self) -> int:
        """How many rows ``received_actions`` holds for the kiosk."""
        from hub.ingest.received import count_received

        return int(self.hub(count_received, DEVICE))

    def hub_query(self, query: Any) -> list[Any]:
        """Rows of a SQLAlchemy ``select`` on the hub database."""
        return list(self.hub(lambda session: session.execute(query)))

    def outbox_ids(self) -> set[str]:
        """Every id in the kiosk's outbox, delivered or not (delivered rows are kept a week)."""
        from sqlalchemy import select

        from kiosk.models import OutboxMessage

        with self.kiosk_engine.connect() as connection:
            return set(connection.scalars(select(OutboxMessage.id)))

    def pending(self) -> int:
        """`kiosk.outbox.count_pending`: the kiosk's actions the hub has not acknowledged yet."""
        from kiosk import outbox
        from kiosk.store import make_session_factory

        with make_session_factory(self.kiosk_engine)() as session:
            return outbox.count_pending(session)

    # ---- waiting and faults ---------------------------------------------------------------------------------------
    def wait_flowing(self, more: int = 10, timeout: float = WAIT) -> None:
        """Until ``more`` further actions have reached the hub (the stream runs through all processes)."""
        target = self.hub_count() + more
        wait_for(lambda: self.hub_count() >= target, timeout, lambda: f"{more} more actions at the hub{self.report()}")

    def wait_drained(self, timeout: float = WAIT) -> None:
        """Until the kiosk's outbox is empty (every action acknowledged by the hub)."""
        wait_for(lambda: self.pending() == 0, timeout, lambda: f"the outbox to drain{self.report()}")

    @contextlib.contextmanager
    def hub_database_locked(self) -> Iterator[None]:
        """Hold SQLite's write lock on the hub database (``BEGIN EXCLUSIVE``) for the block: no one else writes."""
        connection = sqlite3.connect(self.hub_db, timeout=10, isolation_level=None)
        try:
            connection.execute("BEGIN EXCLUSIVE")
            yield
            connection.execute("ROLLBACK")
        finally:
            connection.close()

    def report(self) -> str:
        """Seed, counts and the end of every log, for a failure message."""
        parts = [f"\n--- seed {self.seed}; pending {self.pending()}, hub {self.hub_count()}, "]
        parts.append(f"confirmed {len(self.confirmed)}")
        logs = [(c.name, c.log_tail()) for c in self.children[-4:]]
        logs.append(("ingest", "\n".join(self.ingest.log_text().splitlines()[-15:])))
        logs.append(("broker", self.broker.log_tail(10)))
        parts += [f"\n--- {name}:\n{tail}" for name, tail in logs]
        return "".join(parts)

    def close(self) -> None:
        """Kill every child this system started (the broker is the fixture's); none may be left running."""
        from tests.hub.test_hub_ingest_harness import kill_all

        for child in self.children:
            child.kill()
        self.ingest.kill()
        kill_all()
        self.hub_engine.dispose()
        self.kiosk_engine.dispose()
        strays = [c.name for c in self.children if c.running]
        strays += ["ingest"] if self.ingest.process is not None and self.ingest.process.poll() is None else []
        assert not strays, f"still running after teardown: {strays}"


# ---- the children's side ------------------------------------------------------------------------------------------
def install_clock(spec: str) -> None:
    """Skew this process's wall clock by the first offset (ms) of ``spec`` (``"<ms>,<ms>,…"``); each SIGUSR1
    steps it to the next, as NTP steps a clock (`Child.step_clock` sends it).

    Patches ``time.time``/``time.time_ns`` (message ids, ``sent_at``, the clock offset estimate) and the kiosk
    modules' ``datetime.now`` (outbox ``created_at``, delivered-at, heartbeat ages). Monotonic time, TLS
    certificate checks, the broker and the hub are untouched: as when only the kiosk's clock is wrong.
    """
    import datetime as dt

    import kiosk.outbox
    import kiosk.presence
    import kiosk.sync.agent
    import kiosk.sync.commands

    offsets = [int(part) * 1_000_000 for part in spec.split(",")]
    current = [offsets.pop(0)]
    real_time_ns = time.time_ns

    def step(*_: object) -> None:
        if offsets:
            current[0] = offsets.pop(0)

    def skewed_time_ns() -> int:
        return real_time_ns() + current[0]

    class SkewedDatetime(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
            return dt.datetime.now(tz) + dt.timedelta(microseconds=current[0] // 1000)

    signal.signal(signal.SIGUSR1, step)
    time.time_ns = skewed_time_ns
    time.time = lambda: skewed_time_ns() / 1e9
    for module in (kiosk.outbox, kiosk.presence, kiosk.sync.agent, kiosk.sync.commands):
        module.datetime = SkewedDatetime  # type: ignore[attr-defined]


def write_actions(database: Path, *, pause: float, hold: float, count: int, tag: str) -> int:
    """Be the kiosk UI: confirm ``count`` actions, each in its own transaction; say ``begin <id>`` before the
    commit and ``done <id>`` after it. SIGTERM ends the loop after the action in hand."""
    from kiosk import outbox
    from kiosk.store import make_engine, make_session_factory
    from protocol.messages import new_message_id

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    sessions = make_session_factory(make_engine(database))
    for n in range(count):
        if stopping.is_set():
            break
        action_id = new_message_id()
        sys.stdout.write(f"begin {action_id}\n")
        sys.stdout.flush()
        with sessions.begin() as session:
            outbox.enqueue(session, "test-action", {"n": n, "writer": tag}, message_id=action_id)
            if hold:
                time.sleep(hold)  # the rest of the UI's transaction: a kill now leaves nothing behind
        sys.stdout.write(f"done {action_id}\n")
        sys.stdout.flush()
        time.sleep(pause)
    return 0


def main(argv: list[str] | None = None) -> int:
    """The entry point of the children (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.sync_system")
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write")
    write.add_argument("--database", type=Path, required=True)
    write.add_argument("--pause", type=float, default=0.01)
    write.add_argument("--hold", type=float, default=0.0)
    write.add_argument("--count", type=int, default=100_000)
    write.add_argument("--tag", default="w")
    sync = commands.add_parser("sync")
    sync.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    if os.environ.get(CLOCK_ENV):
        install_clock(os.environ[CLOCK_ENV])
    if args.command == "write":
        return write_actions(args.database, pause=args.pause, hold=args.hold, count=args.count, tag=args.tag)
    from tinget.cli import cli

    cli.main(["kiosk", "sync", "--config", args.config], prog_name="tinget")  # exits
    return 0


if __name__ == "__main__":
    sys.exit(main())
