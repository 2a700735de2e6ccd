"""Start `tinget demo` as a newcomer would, read its banner, and stop it with Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BANNER_END = "Ctrl-C"
START_TIMEOUT_SECONDS = 120


@dataclass
class RunningDemo:
    """A `tinget demo` child process and what its banner said."""

    process: subprocess.Popen[str]
    root: Path
    output: str
    hub_url: str
    kiosk_urls: dict[str, str]
    password: str

    def cli(self, *args: str) -> str:
        """Run `tinget demo --dir ROOT …` and return its output."""
        done = subprocess.run(
            [sys.executable, "-m", "tinget.cli", "demo", "--dir", str(self.root), *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return done.stdout.strip()

    def stop(self) -> int:
        """Ctrl-C, as a person at the terminal would; the demo's exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            if self.process.stdout is not None:
                self.output += self.process.stdout.read()
                self.process.stdout.close()
        return self.process.returncode


def start_demo(root: Path) -> RunningDemo:
    """Start the demo in ``root`` and wait for its banner (or fail with what it printed)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tinget.cli", "demo", "--dir", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if BANNER_END in line:
            break
    output = "".join(lines)
    if BANNER_END not in output:
        process.kill()
        process.wait()
        process.stdout.close()
        raise AssertionError(f"the demo did not start:\n{output}")
    hub = re.search(r"Hubben \(webb\):\s+(\S+)", output)
    kiosks = dict(re.findall(r"Kiosk (\S+):\s+(\S+)", output))
    password = re.search(r"lösenord (\S+)", output)
    assert hub and kiosks and password, output
    return RunningDemo(
        process,
        root,
        output,
        hub.group(1).rstrip("/"),
        {k: v.rstrip("/") for k, v in kiosks.items()},
        password.group(1),
    )


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention ``text`` (to find strays)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next((ln for ln in (entry / "status").read_text().splitlines() if ln.startswith("State:")), "")
        except OSError:
            continue
        if text in cmdline and "zombie" not in state:
            found.append(cmdline.strip())
    return found
