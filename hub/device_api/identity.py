"""Who is asking: the CN of the TLS client certificate, and whether that device has been revoked.

gunicorn puts the connection's socket in the WSGI environ as ``gunicorn.socket``; with TLS it is an
`ssl.SSLSocket` whose handshake has completed (gunicorn runs it before reading the request), and with
``cert_reqs=CERT_REQUIRED`` the certificate has been verified against the CA chain. Certificates are
short-lived (DESIGN.md decision 11); between issue and expiry, provisioning's revocation list cuts a device off.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub.sets.trust import read_revoked
from protocol import topics

PEER_SOCKET = "gunicorn.socket"


def peer_common_name(environ: Mapping[str, Any]) -> str | None:
    """The single CN in the verified client certificate's subject, or None (no TLS, no certificate, no CN)."""
    getpeercert = getattr(environ.get(PEER_SOCKET), "getpeercert", None)
    if getpeercert is None:
        return None
    cert = getpeercert()
    if not cert:
        return None
    names = [value for rdn in cert.get("subject", ()) for key, value in rdn if key == "commonName"]
    return names[0] if len(names) == 1 else None


def device_id_of(common_name: str | None) -> str | None:
    """The device id a certificate's CN names, if it is one (an ASCII slug, as provisioning issues them)."""
    if common_name is None or topics.SLUG.fullmatch(common_name) is None:
        return None
    return common_name


class Revocations:
    """The revoked device ids from provisioning's ``revoked.json``, re-read whenever the file changes.

    Thread-safe (gthread workers share one). A list that cannot be read raises `hub.sets.trust.TrustError`,
    so the API fails closed instead of letting a revoked device in.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._revoked: frozenset[str] = frozenset()

    def __contains__(self, device_id: object) -> bool:
        return device_id in self.current()

    def current(self) -> frozenset[str]:
        """The revoked ids as the file says now (cached while the file stays the same)."""
        if self.path is None:
            return frozenset()
        with self._lock:
            try:
                stat = self.path.stat()
                stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)  # replaced atomically: new inode
            except FileNotFoundError:
                stamp = (0, 0, -1)
            if stamp != self._seen:
                self._revoked = read_revoked(self.path)
                self._seen = stamp
            return self._revoked
