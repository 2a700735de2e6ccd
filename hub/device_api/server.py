"""Running the device API under gunicorn with TLS and required client certificates (no command line, no file).

gunicorn verifies the client certificate during the handshake (``cert_reqs=CERT_REQUIRED`` against
``ca_certs``), so a client without one, or with one from another CA, never reaches the app. The app reads the
CN from the socket gunicorn hands it (`hub.device_api.identity`).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from flask import Flask

from hub.server import GunicornServer
from hub.settings import HubSettings
from protocol.settings import ConfigError


def tls_files(settings: HubSettings) -> tuple[Path, Path, Path]:
    """(server certificate, its key, CA chain for clients); `ConfigError` if one is unset or missing."""
    files = {
        "device_api_cert_file": settings.device_api_cert_file,
        "device_api_key_file": settings.device_api_key_file,
        "device_api_ca_file": settings.device_api_ca_file,
    }
    for name, path in files.items():
        if path is None:
            raise ConfigError(
                f"{name} is not set: the device API needs the hub's server certificate and key "
                "(pki/hub/web.pem, web.key) and the CA chain devices chain to (pki/ca/chain.pem)"
            )
        if not path.is_file():
            raise ConfigError(f"{name} {path} does not exist")
    if not 0 < settings.device_api_port < 65536 or settings.device_api_workers < 1:
        raise ConfigError("device_api_port must be between 1 and 65535, and device_api_workers at least 1")
    cert, key, ca = files.values()
    assert cert is not None and key is not None and ca is not None
    return cert, key, ca


def _harden(_config: Any, default_ssl_context_factory: Any) -> ssl.SSLContext:
    """gunicorn's ``ssl_context`` hook: its default context (CERT_REQUIRED, our CA), TLS 1.2 at least."""
    context: ssl.SSLContext = default_ssl_context_factory()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class DeviceApiServer(GunicornServer):
    """The device API: TLS with required client certificates, where kiosks fetch replicated sets."""

    def __init__(self, settings: HubSettings) -> None:
        self.cert_file, self.key_file, self.ca_file = tls_files(settings)
        super().__init__(settings)

    def options(self) -> dict[str, Any]:
        return {
            "bind": f"{self.settings.device_api_host}:{self.settings.device_api_port}",
            "workers": self.settings.device_api_workers,
            "threads": 4,
            "certfile": str(self.cert_file),
            "keyfile": str(self.key_file),
            "ca_certs": str(self.ca_file),
            "cert_reqs": ssl.CERT_REQUIRED,
            "ssl_context": _harden,
            "proc_name": "tinget-hub-device-api",
        }

    def make_app(self) -> Flask:
        from hub.device_api.app import create_app

        return create_app(self.settings)


def serve(settings: HubSettings) -> None:
    """Run the device API in the foreground until it is told to stop."""
    DeviceApiServer(settings).run()
