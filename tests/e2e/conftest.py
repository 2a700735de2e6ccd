"""The whole system, started the way a newcomer starts it: `tinget demo`, once for the e2e session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.demo_run import RunningDemo, start_demo


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    """A running demo (broker, hub web, ingest, kiosks Änge and Föllinge); stopped with Ctrl-C at the end."""
    running = start_demo(tmp_path_factory.mktemp("demo") / "state")
    try:
        yield running
    finally:
        running.stop()
