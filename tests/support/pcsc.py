"""A private pcscd with two virtual readers for the tests (tinget/pcscd.py), started and stopped by fixtures.

libpcsclite reads ``PCSCLITE_CSOCK_NAME`` once per process, so a test session has one private pcscd, on one
socket path; `PcscdProcess.restart` stops and starts it again on the same path (the recovery tests).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tinget.pcscd import PrivatePcscd, free_port_pair
from tinget.supervisor import stop_process_group


class PcscdProcess:
    """pcscd in its own mount namespace, with readers ``reader_name(0)`` and ``reader_name(1)``."""

    def __init__(self, root: Path) -> None:
        self.pcscd = PrivatePcscd(root, free_port_pair(), name="Tinget test reader")
        self.process: subprocess.Popen[bytes] | None = None
        self.log = root / "pcscd.log"

    def start(self) -> PcscdProcess:
        self.pcscd.prepare()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.pcscd.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        if not self.pcscd.wait_ready():
            self.stop()
            raise RuntimeError(f"pcscd did not start:\n{self.log.read_text(errors='replace')[-2000:]}")
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process_group(self.process, 10.0)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()
