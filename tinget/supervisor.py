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


def _exited(pid: int) -> bool:
    """Whether child ``pid`` has exited, without reaping it (a zombie keeps its pid and its group id)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def stop_process_group(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the process group ``process`` leads, SIGKILL it after ``grace`` seconds, and reap the leader.

    What the leader left in its group (a gunicorn worker whose master died first) is killed while the leader is
    still an unreaped zombie: only then is its group id certain to be ours. Killing a group after reaping its
    leader could hit an unrelated group that was given the recycled id.
    """
    pid = process.pid
    if process.returncode is not None:
        return  # reaped already (poll() saw it die): its group id may belong to someone else by now
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while not _exited(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)  # the leader is dead or a zombie: the group is still ours
    process.wait()


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
                stop_process_group(child.process, STOP_GRACE_SECONDS)
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
            stop_process_group(child.process, max(0.5, deadline - time.monotonic()))
