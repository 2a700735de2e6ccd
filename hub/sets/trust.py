"""Reading the PKI files the trust set and the device API rely on: the CA chain and the revocation list.

The revocation list is provisioning's ``revoked.json`` (``{"version": 1, "revoked": [{"device": id, …}]}``);
the hub reads the file format, never the provisioning package. A missing list means nothing is revoked yet
(provisioning writes it at the first revocation); an unreadable or malformed one is a `TrustError`, and callers
fail closed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from hub.sets.content import TrustMaterial
from protocol import topics

_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----")


class TrustError(Exception):
    """A CA chain or revocation list cannot be read; the message names the file and the problem."""


def read_ca_chain(path: Path) -> tuple[str, ...]:
    """The certificates of a PEM chain file, each as one PEM block ending in a newline."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise TrustError(f"CA chain {path} cannot be read: {exc}") from None
    blocks = tuple(match.group(0).replace("\r\n", "\n") + "\n" for match in _PEM_CERT.finditer(text))
    if not blocks:
        raise TrustError(f"CA chain {path} holds no PEM certificate")
    return blocks


def read_revoked(path: Path) -> frozenset[str]:
    """The revoked device ids listed in ``path`` (empty if the file does not exist yet)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return frozenset()
    except OSError as exc:
        raise TrustError(f"revocation list {path} cannot be read: {exc.strerror}") from None
    try:
        entries = json.loads(raw)["revoked"]
        devices = frozenset(str(entry["device"]) for entry in entries)
    except (ValueError, KeyError, TypeError) as exc:
        raise TrustError(f"revocation list {path} is not valid ({exc.__class__.__name__}: {exc})") from None
    for device in devices:
        if topics.SLUG.fullmatch(device) is None:
            raise TrustError(f"revocation list {path} names an invalid device id {device[:80]!r}")
    return devices


def read_trust(ca_file: Path | None, revoked_file: Path | None) -> TrustMaterial:
    """The trust set's material from the configured files; either may be unset (then it is left empty)."""
    return TrustMaterial(
        ca_chain=read_ca_chain(ca_file) if ca_file is not None else (),
        revoked_devices=read_revoked(revoked_file) if revoked_file is not None else frozenset(),
    )
