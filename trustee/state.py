"""The trustee's private state file: its sealed-box key pair, its polynomial (until key generation ends) and
then its key share. Written with mode 0600 through a temporary file and an atomic rename; refused when anyone
but the owner can read it (the same rule as every secret in Tinget, SEC-20).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol import codec
from protocol.ballots import group
from protocol.ballots.group import Scalar
from protocol.ballots.keygen import Ceremony, TrusteeSecrets
from protocol.settings import read_secret

STATE_FORMAT = "tinget/trustee-state/v1"


class StateError(ValueError):
    """The state file is missing, unreadable or not a trustee state; the message says what to do."""


@dataclass(frozen=True, slots=True)
class TrusteeState:
    """What `tinget trustee` remembers between rounds. ``share`` is set once key generation has finished."""

    ceremony: Ceremony
    secrets: TrusteeSecrets
    share: Scalar | None = None

    def to_json(self) -> dict[str, Any]:
        """The file's content (secret: never leaves the trustee's machine)."""
        return {
            "format": STATE_FORMAT,
            "ceremony": self.ceremony.to_json(),
            "trustee": self.secrets.index,
            "box_public": self.secrets.box_public.hex(),
            "box_secret": self.secrets.box_secret.hex(),
            "coefficients": [group.to_hex(a) for a in self.secrets.coefficients],
            "share": None if self.share is None else group.to_hex(self.share),
        }

    @classmethod
    def from_json(cls, data: object) -> TrusteeState:
        """Read the file's content back."""
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise StateError("this is not a trustee state file")
        try:
            secrets = TrusteeSecrets(
                data["trustee"],
                bytes.fromhex(data["box_public"]),
                bytes.fromhex(data["box_secret"]),
                tuple(group.scalar_from_hex(a) for a in data["coefficients"]),
            )
            share = None if data["share"] is None else group.scalar_from_hex(data["share"])
            return cls(Ceremony.from_json(data["ceremony"]), secrets, share)
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"the trustee state file is damaged: {exc}") from None


def save_state(path: Path, state: TrusteeState) -> None:
    """Write ``state`` to ``path`` with mode 0600, replacing it atomically."""
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(codec.encode(state.to_json()) + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, path)


def load_state(path: Path) -> TrusteeState:
    """Read the state file; it must be readable by its owner only (raises `ConfigError` otherwise)."""
    raw = read_secret(path, what="trustee state")
    try:
        return TrusteeState.from_json(codec.decode(raw, max_size=1024 * 1024))
    except codec.DecodeError as exc:
        raise StateError(f"the trustee state file is damaged: {exc}") from None
