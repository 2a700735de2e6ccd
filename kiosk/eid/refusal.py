"""Why a card does not start a session: one reason per case, each with its own message on the screen.

`Refused` carries a `Reason` (the protocol's `protocol.eid.RefusalReason`: the hub reads it in audit records);
the UI maps each reason to a Swedish (and English) message and the audit record
names the reason, never the person (SEC-01, SEC-14).
"""

from __future__ import annotations

import re

from protocol.eid import RefusalReason as Reason

_LONG_NUMBER = re.compile(r"[0-9][0-9 +-]{4,}[0-9]")

__all__ = ["Reason", "Refused"]


class Refused(Exception):
    """A card cannot start a session, for ``reason``; ``detail`` is for the log (never personal data)."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        detail = _LONG_NUMBER.sub("…", detail)  # a number in a library's message could be a personnummer
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
        self.detail = detail
