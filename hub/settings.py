"""The hub's settings: one frozen object per process; defaults < TOML < ``TINGET_*`` variables < overrides."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol.settings import ConfigError, ensure_secret, load_settings, read_secret

CONFIG_ENV = "TINGET_HUB_CONFIG"


@dataclass(frozen=True, slots=True)
class HubSettings:
    """Everything a hub process needs to know at start-up. Secrets are files, never values."""

    database_url: str = "sqlite:///var/hub/hub.db"
    data_dir: Path = Path("var/hub")
    secret_key_file: Path | None = None  # default: data_dir / "secret_key"
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    web_workers: int = 2
    web_threads: int = 4
    public_url: str = "http://127.0.0.1:8000"
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 8883
    mqtt_ca_file: Path | None = None
    mqtt_cert_file: Path | None = None
    mqtt_key_file: Path | None = None
    # The device API (hub/device_api, `tinget hub device-api`): HTTPS with required client certificates, where
    # kiosks fetch the replicated sets. [device_api] cert_file/key_file: the hub's server certificate
    # (pki/hub/web.pem, web.key); ca_file: the chain device certificates must chain to (pki/ca/chain.pem), also
    # published in the trust set; revoked_file: provisioning's pki/revoked.json (listed devices get 403).
    device_api_host: str = "127.0.0.1"
    device_api_port: int = 8443
    device_api_cert_file: Path | None = None
    device_api_key_file: Path | None = None
    device_api_ca_file: Path | None = None
    device_api_revoked_file: Path | None = None
    device_api_workers: int = 1
    # e-ID cards at the kiosks (the trust set): the CA certificates of every accepted e-ID issuer (one PEM file,
    # roots and intermediates) and a folder of their current revocation lists (PEM or DER, *.crl / *.pem), kept
    # fresh by a timer (docs/eid.md). Both unset: the kiosks accept no card.
    eid_ca_file: Path | None = None
    eid_crl_dir: Path | None = None
    eid_crl_urls: tuple[str, ...] = ()  # where `tinget hub sets refresh-crls` fetches the lists into eid_crl_dir
    # The CAs (PEM) that issue employee cards: only a card from one of them signs staff in. Unset: no staff card.
    eid_staff_ca_file: Path | None = None
    log_level: str = "info"
    signin_max_failures: int = 5
    signin_lockout_seconds: int = 300
    demo_mode: bool = False
    # Reverse proxies (nginx) in front of the hub web whose X-Forwarded-For/-Proto/-Host headers are trusted; 0: none.
    proxy_trusted_hops: int = 0
    # The ingest worker (hub/ingest): group commits, and the MQTT client id. Every ingest process needs its own
    # client id (the broker keeps one session per id); the default is hub-ingest-<hostname>.
    ingest_batch_max: int = 500  # messages recorded in one database transaction at most
    ingest_batch_wait_ms: int = 0  # extra wait for more messages before a commit; 0: take what has queued up
    ingest_client_id: str | None = None
    # The devices page (enheter): when a device raises an alarm.
    device_offline_alarm_minutes: int = 10
    device_outbox_alarm_depth: int = 1000
    device_outbox_alarm_age_seconds: int = 3600
    # The records registry (hub/registry): where registered files live (content-addressed), the largest upload.
    registry_files_dir: Path | None = None  # default: data_dir / "records"
    registry_max_upload_bytes: int = 200 * 1024 * 1024
    # Polls (hub/polls): the secret the per-poll roll keys derive from, and the X25519 key pair a voter's
    # certificate is sealed to inside a ballot's envelope. Both are made by the hub on first use (0600).
    poll_roll_secret_file: Path | None = None  # default: data_dir / "poll_roll_secret"
    poll_seal_key_file: Path | None = None  # default: data_dir / "poll_seal_key"

    def __post_init__(self) -> None:
        if self.secret_key_file is None:
            object.__setattr__(self, "secret_key_file", self.data_dir / "secret_key")
        if self.registry_files_dir is None:
            object.__setattr__(self, "registry_files_dir", self.data_dir / "records")
        if self.poll_roll_secret_file is None:
            object.__setattr__(self, "poll_roll_secret_file", self.data_dir / "poll_roll_secret")
        if self.poll_seal_key_file is None:
            object.__setattr__(self, "poll_seal_key_file", self.data_dir / "poll_seal_key")
        if not 1024 <= self.registry_max_upload_bytes <= 8 * 1024**3:
            raise ConfigError("registry_max_upload_bytes must be between 1024 and 8589934592")
        if self.signin_max_failures < 1:
            raise ConfigError("signin_max_failures must be at least 1")
        if self.signin_lockout_seconds < 1:
            raise ConfigError("signin_lockout_seconds must be at least 1")
        if not 0 < self.web_port < 65536 or not 0 < self.mqtt_port < 65536:
            raise ConfigError("web_port and mqtt_port must be between 1 and 65535")
        if not 1 <= self.ingest_batch_max <= 100_000 or not 0 <= self.ingest_batch_wait_ms <= 60_000:
            raise ConfigError("ingest_batch_max must be 1-100000 and ingest_batch_wait_ms 0-60000")
        if self.ingest_client_id is not None and not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", self.ingest_client_id):
            raise ConfigError("ingest_client_id must be 1-64 letters, digits, '.', '_' or '-'")
        if (
            min(self.device_offline_alarm_minutes, self.device_outbox_alarm_depth, self.device_outbox_alarm_age_seconds)
            < 1
        ):
            raise ConfigError("the device_*_alarm_* settings must be at least 1")

    @property
    def files_dir(self) -> Path:
        """``registry_files_dir`` after its default is filled in."""
        assert self.registry_files_dir is not None
        return self.registry_files_dir

    def ingest_mqtt_client_id(self) -> str:
        """The ingest's MQTT client id: ``ingest_client_id``, else ``hub-ingest-<hostname>``."""
        return self.ingest_client_id or default_ingest_client_id()


def default_ingest_client_id() -> str:
    """``hub-ingest-<hostname>``: stable across restarts, so the broker keeps this worker's session."""
    host = re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().lower()).strip("-") or "host"
    return f"hub-ingest-{host}"[:64]


def load_hub_settings(path: Path | str | None = None, **overrides: Any) -> HubSettings:
    """Load the hub's settings; ``path`` defaults to the file named by ``TINGET_HUB_CONFIG`` (or none)."""
    if path is None and os.environ.get(CONFIG_ENV):
        path = os.environ[CONFIG_ENV]
    return load_settings(HubSettings, Path(path) if path is not None else None, overrides=overrides)


def replace_settings(settings: HubSettings, **changes: Any) -> HubSettings:
    """A copy of ``settings`` with some fields changed (tests and the demo use it)."""
    return dataclasses.replace(settings, **changes)


def secret_key(settings: HubSettings) -> bytes:
    """The hub's master secret. Production refuses to start without its file; the demo creates one."""
    assert settings.secret_key_file is not None  # filled in by __post_init__
    if settings.demo_mode:
        return ensure_secret(settings.secret_key_file, what="hub secret key")
    if not settings.secret_key_file.exists():
        raise ConfigError(
            f"hub secret key file {settings.secret_key_file} does not exist; create it with: "
            "(umask 077; python3 -c 'import secrets; print(secrets.token_hex(32))' "
            f"> {settings.secret_key_file})"
        )
    return read_secret(settings.secret_key_file, what="hub secret key")


def derive_key(master: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose (session cookies, TOTP secrets at rest), so no key serves two ends."""
    return hmac.new(master, b"tinget hub key: " + purpose.encode(), hashlib.sha256).digest()
