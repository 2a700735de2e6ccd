"""A real Mosquitto for tests: generated TLS config, a free port, started and always stopped.

Never the system broker on 127.0.0.1:1883: each `MosquittoBroker` runs ``/usr/sbin/mosquitto -c <conf>`` on a
port picked by binding port 0, in its own process group, and is told to die with the test process
(PR_SET_PDEATHSIG) so that not even a killed pytest leaves one behind.
"""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from provisioning.broker import BrokerFiles, BrokerSettings, write_acl, write_broker_config
from provisioning.pki import Credential, PkiLayout
from tinget.supervisor import die_with_parent

MOSQUITTO = Path("/usr/sbin/mosquitto")
START_TIMEOUT = 5.0  # seconds until the TLS port must accept connections
STOP_TIMEOUT = 5.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


_die_with_parent = die_with_parent(signal.SIGKILL)  # nothing a test starts may outlive a killed run


def _port_accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class MosquittoBroker:
    """One broker process for a PKI directory; `start` it, `reload`, `restart`, `stop` or `kill` it."""

    pki_dir: Path
    conf_dir: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    files: BrokerFiles | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def pki(self) -> PkiLayout:
        return PkiLayout(self.pki_dir)

    @property
    def ca_file(self) -> Path:
        return self.pki.chain

    @property
    def hub(self) -> Credential:
        return self.pki.hub_client

    def device(self, device_id: str) -> Credential:
        return self.pki.device(device_id)

    @property
    def log_file(self) -> Path:
        return self.conf_dir / "mosquitto.log"

    @property
    def pid(self) -> int:
        assert self.process is not None, "the broker is not running"
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def write_config(self) -> BrokerFiles:
        """(Re)generate mosquitto.conf and the ACL from the PKI."""
        settings = BrokerSettings(
            port=self.port,
            bind_address=self.host,
            log_file=self.log_file,
            run_as_user=pwd.getpwuid(os.getuid()).pw_name,  # as root, stay root: the keys are 0600 root's
        )
        self.files = write_broker_config(self.pki_dir, self.conf_dir, settings)
        return self.files

    def start(self) -> MosquittoBroker:
        """Start the broker and wait until its TLS port accepts connections."""
        if self.files is None:
            self.write_config()
        assert self.files is not None
        self.process = subprocess.Popen(
            [str(MOSQUITTO), "-c", str(self.files.conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # no broker may outlive a killed test run
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not _port_accepts(self.host, self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"mosquitto not listening on {self.port}:\n{self.log_tail()}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL after a grace): a clean shutdown that saves persistence."""
        if self.running:
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL and reap: a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)

    def restart(self) -> MosquittoBroker:
        """Stop (cleanly) and start again on the same port with the same config and persistence."""
        self.stop()
        return self.start()

    def reload(self, timeout: float = 5.0) -> None:
        """Regenerate the ACL from the PKI, SIGHUP the broker and wait until it has reloaded."""
        assert self.files is not None
        write_acl(self.pki_dir, self.files.acl)
        before = self.reload_count()
        os.kill(self.pid, signal.SIGHUP)
        self.wait_reloaded(before, timeout)

    def reload_count(self) -> int:
        """How often the broker has logged a reload so far."""
        return self.log_text().count("Reloading config")

    def wait_reloaded(self, before: int, timeout: float = 5.0) -> None:
        """Wait until the broker logged more reloads than ``before``. Mosquitto handles the signal in its
        single-threaded main loop, so every packet it reads after that line meets the new ACL."""
        deadline = time.monotonic() + timeout
        while self.reload_count() <= before:
            if time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not reload within {timeout}s:\n{self.log_tail()}")
            time.sleep(0.02)

    def log_text(self) -> str:
        """Everything the broker has logged so far."""
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the broker's log, for failure messages."""
        return "\n".join(self.log_text().splitlines()[-lines:])
