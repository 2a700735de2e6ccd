"""Start a set of child processes, watch them, and stop every one of them cleanly.

Used by `tinget demo`. Each child runs in its own process group, so that stopping it also stops what it started
(gunicorn's workers), and each is told to die with us (PR_SET_PDEATHSIG) should the demo itself be killed -9.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_PDEATHSIG = 1
STOP_GRACE_SECONDS = 10.0  # gunicorn's graceful timeout is longer; the demo has no long requests to finish


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn`` that has the kernel send ``sig`` to the child when its parent dies (PR_SET_PDEATHSIG)."""

    def preexec() -> None:  # runs in the child between fork and exec
        libc_name = ctypes.util.find_library("c")
        if libc_name:
            ctypes.CDLL(libc_name, use_errno=True).prctl(PR_SET_PDEATHSIG, sig)

    return preexec


_die_with_parent = die_with_parent(signal.SIGTERM)


@dataclass
class Child:
    """One supervised process and where its output goes."""

    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None


class Supervisor:
    """Owns the children: `start` them in order, `watch` until one dies or we are told to stop, `stop` all."""

    def __init__(self) -> None:
        self.children: list[Child] = []

    def start(self, child: Child) -> Child:
        """Start ``child`` in its own process group with its output appended to its log file."""
        child.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = child.log_path.open("ab")
        env = {**os.environ, **child.env}
        child.process = subprocess.Popen(
            child.argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()
        self.children.append(child)
        return child

    def first_dead(self) -> Child | None:
        """The first child that has exited, if any (one stopped on purpose with `stop_one` does not count)."""
        for child in self.children:
            if child.process is not None and child.process.poll() is not None:
                return child
        return None

    def stop_one(self, name: str) -> None:
        """Stop the child called ``name`` on purpose (SIGTERM, then SIGKILL); `start_again` brings it back."""
        for child in self.children:
            if child.name == name and child.process is not None:
                self._signal(child, signal.SIGTERM)
                try:
                    child.process.wait(timeout=STOP_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    self._signal(child, signal.SIGKILL)
                    child.process.wait()
                self._signal(child, signal.SIGKILL)  # what it left in its group
                child.process = None

    def start_again(self, name: str) -> Child:
        """Start the child called ``name`` again after `stop_one`, with the same command and log."""
        child = next(child for child in self.children if child.name == name)
        self.children.remove(child)
        return self.start(child)

    def stop(self) -> None:
        """Stop the children in reverse start order (the broker last), each with SIGTERM, then SIGKILL if need be."""
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in reversed(self.children):
            if child.process is None:
                continue  # stopped on purpose earlier
            self._signal(child, signal.SIGTERM)
            try:
                child.process.wait(timeout=max(0.5, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(child, signal.SIGKILL)
                child.process.wait()
        # Anything a child left in its group (a gunicorn worker whose master died first) goes too.
        for child in self.children:
            self._signal(child, signal.SIGKILL)

    @staticmethod
    def _signal(child: Child, sig: signal.Signals) -> None:
        if child.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.process.pid, sig)
