"""Fetching catalogue chunks and files from the hub's device API over mutual TLS, checked by SHA-256.

The same trust as the replicated sets (`kiosk.replica`): the device's certificate, the hub verified against
the PKI's chain. Anything that is not exactly the bytes named by the hash is refused, and a file is written to
a temporary name and renamed into place only once its hash matched, so a half-fetched file never shows.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import ssl
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from kiosk.replica import check_settings
from kiosk.settings import KioskSettings
from protocol.settings import ConfigError

_CHUNK = 256 * 1024


class TransferError(Exception):
    """A fetch failed; ``retry`` says whether trying later may help (the hub away) or not (bad bytes, 404)."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


def _context(settings: KioskSettings) -> ssl.SSLContext:
    check_settings(settings)
    assert settings.mqtt_ca_file and settings.mqtt_cert_file and settings.mqtt_key_file
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(settings.mqtt_ca_file))
        context.load_cert_chain(str(settings.mqtt_cert_file), str(settings.mqtt_key_file))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"the device's TLS files cannot be loaded: {exc}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class HubLink:
    """One keep-alive HTTPS connection to the device API, reused for many fetches."""

    def __init__(self, settings: KioskSettings) -> None:
        self.settings = settings
        target = urlsplit(settings.hub_url)
        self.host, self.port = target.hostname or "", target.port or 443
        self.base = target.path.rstrip("/")
        self.context = _context(settings)
        self.connection: http.client.HTTPSConnection | None = None

    def close(self) -> None:
        """Close the connection."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _get(self, path: str) -> http.client.HTTPResponse:
        timeout = self.settings.sets_fetch_timeout_seconds
        for attempt in (1, 2):  # a kept-alive connection the hub closed meanwhile is opened again once
            if self.connection is None:
                self.connection = http.client.HTTPSConnection(
                    self.host, self.port, context=self.context, timeout=timeout
                )
            try:
                self.connection.request("GET", self.base + path)
                return self.connection.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if attempt == 2:
                    raise TransferError(f"the hub cannot be reached: {type(exc).__name__}: {exc}", retry=True) from None
        raise AssertionError("unreachable")

    def _stream(self, path: str, sha256: str, max_bytes: int, sink) -> int:  # type: ignore[no-untyped-def]
        try:
            response = self._get(path)
            if response.status != 200:
                response.read()
                raise TransferError(f"the hub answered {response.status} for {path}", retry=response.status >= 500)
            digest, size, deadline = (
                hashlib.sha256(),
                0,
                time.monotonic() + self.settings.sets_fetch_timeout_seconds * 30,
            )
            while block := response.read(_CHUNK):
                size += len(block)
                if size > max_bytes:
                    raise TransferError(f"{path} is larger than {max_bytes} bytes", retry=False)
                if time.monotonic() > deadline:
                    raise TransferError(f"{path} took too long", retry=True)
                digest.update(block)
                sink(block)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise TransferError(f"the fetch of {path} broke off: {type(exc).__name__}", retry=True) from None
        except TransferError:
            self.close()
            raise
        if digest.hexdigest() != sha256:
            raise TransferError(f"{path}: the bytes do not have the announced SHA-256 (SEC-12)", retry=False)
        return size

    def fetch_bytes(self, path: str, sha256: str, max_bytes: int) -> bytes:
        """The bytes at ``path``, which must hash to ``sha256``."""
        parts: list[bytes] = []
        self._stream(path, sha256, max_bytes, parts.append)
        return b"".join(parts)

    def fetch_file(self, path: str, sha256: str, target: Path, max_bytes: int) -> int:
        """Fetch into ``target`` (written whole or not at all); return the size."""
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=".fetch-")
        try:
            with os.fdopen(fd, "wb") as out:
                size = self._stream(path, sha256, max_bytes, out.write)
                out.flush()
                os.fsync(out.fileno())
            os.replace(name, target)
            return size
        finally:
            Path(name).unlink(missing_ok=True)
