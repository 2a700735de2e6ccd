"""The agent's way into the replicated sets (`kiosk.replica`, written with the sets), if they are installed.

The sets module is optional to the agent: when it is absent, a `SetVersion` or a ``resync`` command is
logged (once per kind) and otherwise ignored, so the outbox keeps draining.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from types import ModuleType

from sqlalchemy import Engine

from kiosk.settings import KioskSettings
from protocol.messages import SetVersion

log = logging.getLogger(__name__)

REPLICA_MODULE = "kiosk.replica"
_warned: set[str] = set()


def _replica(hook: str) -> ModuleType | None:
    if importlib.util.find_spec(REPLICA_MODULE) is not None:
        module = importlib.import_module(REPLICA_MODULE)
        if hasattr(module, hook):
            return module
    if hook not in _warned:
        _warned.add(hook)
        log.warning(
            "replicated sets are not installed here; they arrive with the replica module",
            extra={"replica_module": REPLICA_MODULE, "hook": hook},
        )
    return None


def on_set_version(engine: Engine, settings: KioskSettings, message: SetVersion) -> bool:
    """Hand a set's announced version to `kiosk.replica.on_set_version` (on the agent's main thread).

    True when the replica asks to be given the notice again later (the hub was unreachable).
    """
    replica = _replica("on_set_version")
    if replica is None:
        return False
    result = replica.on_set_version(engine, settings, message)
    return bool(getattr(result, "retry_later", False))


def resync(engine: Engine, settings: KioskSettings) -> None:
    """Fetch every set again: `kiosk.replica.resync` (the hub's ``resync`` command)."""
    replica = _replica("resync")
    if replica is not None:
        results = replica.resync(engine, settings) or []
        log.info(
            "resync done",
            extra={"sets": {getattr(r, "name", "?"): str(getattr(r, "status", "?")) for r in results}},
        )
