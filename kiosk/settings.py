"""The kiosk's settings: one frozen object per process; defaults < TOML < ``TINGET_*`` < overrides."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol.messages import MAX_ACTIONS_PER_BATCH
from protocol.settings import ConfigError, load_settings

CONFIG_ENV = "TINGET_KIOSK_CONFIG"
_DEVICE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")  # also the certificate CN and an MQTT topic level


@dataclass(frozen=True, slots=True)
class KioskSettings:
    """Everything one kiosk needs to know about itself.

    ``office_name`` is the place as residents say it (``"Änge"``); the UI composes "Servicekontoret i Änge"
    in the chosen language. ``database_path`` and ``secret_key_file`` default to files inside ``data_dir``.
    """

    device_id: str
    office_name: str
    data_dir: Path = Path("var/kiosk")
    database_path: Path | None = None
    web_port: int = 8080
    idle_seconds: int = 90
    idle_warning_seconds: int = 15  # "Är du kvar?" shows this long before the reset (no timing traps)
    default_language: str = "sv"
    languages: tuple[str, ...] = ("sv", "en")
    timezone: str = "Europe/Stockholm"
    hub_url: str = "https://127.0.0.1:8443"  # the hub's device API (tinget hub device-api)
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 8883
    mqtt_ca_file: Path | None = None
    mqtt_cert_file: Path | None = None
    mqtt_key_file: Path | None = None
    sets_fetch_timeout_seconds: float = 20.0  # per HTTPS fetch of a replicated set (kiosk/replica.py); then retry
    heartbeat_seconds: int = 30
    # The sync agent (kiosk/sync/). At capacity the UI refuses new actions (nothing is ever dropped) and the
    # heartbeat shows the depth; 100,000 rows is weeks of a busy office's actions while the hub is away.
    outbox_capacity: int = 100_000
    sync_batch_size: int = 100  # actions per ActionBatch, at most protocol.messages.MAX_ACTIONS_PER_BATCH
    sync_max_inflight: int = 10  # batches published and not yet acked by the hub, at once
    sync_ack_timeout_seconds: float = 10.0  # a batch not acked within this is sent again ...
    sync_backoff_max_seconds: float = 60.0  # ... waiting twice as long each time, up to this (with jitter)
    # e-ID cards (kiosk/eid): the PC/SC reader to use (its name, or the start of it; unset: the first reader),
    # and how long past its next update a cached revocation list still counts (then every card is refused).
    card_reader: str | None = None
    eid_crl_grace_hours: int = 24
    # The public records (kiosk/records/): the files the kiosk keeps for viewing offline, at most this many bytes.
    records_cache_bytes: int = 2 * 1024**3
    secret_key_file: Path | None = None
    demo_mode: bool = False
    # Demo only (`tinget demo`): the TCP port of this kiosk's virtual reader (vpcd) and the folder of test cards
    # the "insert a test card" panel offers. Ignored unless demo_mode is on.
    demo_vpcd_port: int | None = None
    demo_cards_dir: Path | None = None
    log_level: str = "info"

    def __post_init__(self) -> None:
        if self.database_path is None:
            object.__setattr__(self, "database_path", self.data_dir / "kiosk.db")
        if self.secret_key_file is None:
            object.__setattr__(self, "secret_key_file", self.data_dir / "secret_key")
        if not _DEVICE_ID.match(self.device_id):
            raise ConfigError(
                f"device_id {self.device_id!r} must be a lower-case ASCII slug such as 'ange' or 'follinge'"
            )
        if not self.office_name.strip():
            raise ConfigError("office_name must name the office's place, such as 'Änge'")
        if not 1 <= self.web_port <= 65535:
            raise ConfigError(f"web_port must be between 1 and 65535, got {self.web_port}")
        if self.idle_warning_seconds < 1 or self.idle_seconds <= self.idle_warning_seconds:
            raise ConfigError(
                f"idle_seconds ({self.idle_seconds}) must be longer than idle_warning_seconds "
                f"({self.idle_warning_seconds}), and both positive"
            )
        if not self.languages:
            raise ConfigError("languages must name at least one language, such as ['sv', 'en']")
        if self.default_language not in self.languages:
            raise ConfigError(
                f"default_language {self.default_language!r} is not one of languages {list(self.languages)}"
            )
        if not 0 <= self.eid_crl_grace_hours <= 24 * 30:
            raise ConfigError(f"eid_crl_grace_hours must be between 0 and 720, got {self.eid_crl_grace_hours}")
        if self.records_cache_bytes < 0:
            raise ConfigError(f"records_cache_bytes must not be negative, got {self.records_cache_bytes}")
        if self.heartbeat_seconds < 1:
            raise ConfigError(f"heartbeat_seconds must be positive, got {self.heartbeat_seconds}")
        self._check_sync()

    def _check_sync(self) -> None:
        if self.outbox_capacity < 1:
            raise ConfigError(f"outbox_capacity must be positive, got {self.outbox_capacity}")
        if not 1 <= self.sync_batch_size <= MAX_ACTIONS_PER_BATCH:
            raise ConfigError(
                f"sync_batch_size must be between 1 and {MAX_ACTIONS_PER_BATCH}, got {self.sync_batch_size}"
            )
        if self.sync_max_inflight < 1:
            raise ConfigError(f"sync_max_inflight must be positive, got {self.sync_max_inflight}")
        if self.sync_ack_timeout_seconds <= 0:
            raise ConfigError(f"sync_ack_timeout_seconds must be positive, got {self.sync_ack_timeout_seconds}")
        if self.sync_backoff_max_seconds < self.sync_ack_timeout_seconds:
            raise ConfigError(
                f"sync_backoff_max_seconds ({self.sync_backoff_max_seconds}) must be at least "
                f"sync_ack_timeout_seconds ({self.sync_ack_timeout_seconds})"
            )

    @property
    def database(self) -> Path:
        """The SQLite file (``database_path`` after defaults are filled in)."""
        assert self.database_path is not None
        return self.database_path

    @property
    def secret_key_path(self) -> Path:
        """The file holding the session-signing key (``secret_key_file`` after defaults are filled in)."""
        assert self.secret_key_file is not None
        return self.secret_key_file


def load_kiosk_settings(path: Path | str | None = None, **overrides: Any) -> KioskSettings:
    """Load the kiosk's settings; ``path`` defaults to the file named by ``TINGET_KIOSK_CONFIG``, if any."""
    if path is None and os.environ.get(CONFIG_ENV):
        path = os.environ[CONFIG_ENV]
    return load_settings(KioskSettings, Path(path) if path is not None else None, overrides=overrides)
