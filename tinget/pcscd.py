"""A private pcscd with virtual (vpcd) readers, for the demo and the tests.

Debian's pcscd always serves ``/run/pcscd/pcscd.comm``: one per machine. To run our own next to a system one
(and one per test run), pcscd starts in a private mount namespace where ``/run/pcscd`` is a bind mount of a
folder of ours; clients find it through ``PCSCLITE_CSOCK_NAME``, which libpcsclite (and so pyscard and OpenSC)
honours. Its reader configuration names one vpcd device: two virtual readers, ``<name> 00 00`` on TCP
``port`` and ``<name> 00 01`` on ``port + 1``, which the card emulator (`kiosk.card.emulator`) connects to.

As root this needs ``unshare --mount``; as another user, ``unshare --user --map-root-user --mount``.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
SOCKET_ENV = "PCSCLITE_CSOCK_NAME"
_IN_NAMESPACE = (
    'mount -t tmpfs tinget-pcscd /run && mkdir -p /run/pcscd && mount --bind "$0" /run/pcscd && '
    'exec pcscd --foreground --info --config "$1"'
)


class PcscdUnavailable(RuntimeError):
    """The private pcscd cannot be started here; the message says what is missing."""


def free_port_pair() -> int:
    """A port p such that p and p + 1 are both free on 127.0.0.1 right now."""
    for _ in range(200):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return int(port)
    raise PcscdUnavailable("no two adjacent free ports for the virtual readers")


@dataclass(frozen=True)
class PrivatePcscd:
    """Where a private pcscd keeps its files, and the port of its first virtual reader."""

    root: Path
    port: int
    name: str = "Tinget virtual reader"

    @property
    def socket_path(self) -> Path:
        return self.root / "run" / "pcscd.comm"

    @property
    def config_dir(self) -> Path:
        return self.root / "reader.conf.d"

    @property
    def client_env(self) -> dict[str, str]:
        """What a PC/SC client's environment needs to find this pcscd."""
        return {SOCKET_ENV: str(self.socket_path)}

    def reader_name(self, index: int) -> str:
        """The PC/SC name of virtual reader ``index`` (0 or 1)."""
        return f"{self.name} 00 {index:02d}"

    def reader_port(self, index: int) -> int:
        """The TCP port the card emulator connects to for reader ``index``."""
        return self.port + index

    def prepare(self) -> None:
        """Write the reader configuration and make the run folder (a stale socket is removed)."""
        if not VPCD_DRIVER.exists():
            raise PcscdUnavailable(f"the vpcd driver {VPCD_DRIVER} is missing: apt-get install vsmartcard-vpcd")
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.root / "run").mkdir(parents=True, exist_ok=True)
        for stale in (self.socket_path, self.root / "run" / "pcscd.pid"):
            stale.unlink(missing_ok=True)
        (self.config_dir / "vpcd").write_text(
            f'FRIENDLYNAME "{self.name}"\n'
            f"DEVICENAME   /dev/null:0x{self.port:04X}\n"
            f"LIBPATH      {VPCD_DRIVER}\n"
            f"CHANNELID    0x{self.port:04X}\n",
            encoding="ascii",
        )

    def command(self) -> list[str]:
        """The command line that runs pcscd in the foreground in its private namespace."""
        namespace = ["unshare", "--mount", "--propagation", "private"]
        if os.geteuid() != 0:
            namespace[1:1] = ["--user", "--map-root-user"]
        return [*namespace, "sh", "-c", _IN_NAMESPACE, str(self.root / "run"), str(self.config_dir)]

    def wait_ready(self, timeout: float = 15.0) -> bool:
        """Wait until pcscd's socket accepts connections."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.socket_path.exists():
                with socket.socket(socket.AF_UNIX) as probe:
                    try:
                        probe.connect(str(self.socket_path))
                        return True
                    except OSError:
                        pass
            time.sleep(0.05)
        return False
