"""The kiosk's replicated sets: fetched over mutual TLS, checked against the notice, swapped in whole.

A small HTTPS server in the test stands in for the hub's device API (hub web certificate, client certificates
required), so it can serve what the real one never would: a flipped byte, a wrong set, a 503.
"""

from __future__ import annotations

import hashlib
import http.server
import logging
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from kiosk import replica
from kiosk.replica import FetchStatus, ReplicaRow
from kiosk.settings import KioskSettings, load_kiosk_settings
from kiosk.store import make_engine, make_session_factory, upgrade
from protocol import codec
from protocol.messages import HUB_SENDER, SetVersion
from protocol.settings import ConfigError
from provisioning.pki import PkiLayout
from tests.support.mosquitto import free_port


def set_body(name: str, content: dict[str, Any]) -> bytes:
    """A set's bytes as the hub serves them."""
    return codec.encode({"content": content, "schema": 1, "set": name})


def notice(name: str, version: int, body: bytes, *, sha256: str | None = None, sender: str = HUB_SENDER) -> SetVersion:
    """The hub's SetVersion for ``body`` (or one claiming ``sha256``)."""
    return SetVersion.create(
        sender=sender,
        name=name,
        version=version,
        sha256=sha256 or hashlib.sha256(body).hexdigest(),
        url=f"/device/v1/sets/{name}?version={version}",
    )


@dataclass
class FakeDeviceApi:
    """An mTLS HTTPS server answering ``routes[path] = (status, body)``; it records each client's CN."""

    server: http.server.ThreadingHTTPServer
    routes: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    peers: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def serve(self, version: int, body: bytes, name: str = "config", status: int = 200) -> None:
        self.routes[f"/device/v1/sets/{name}?version={version}"] = (status, body)


def _start_fake(credentials: tuple[Path, Path], chain: Path) -> FakeDeviceApi:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(credentials[0]), str(credentials[1]))
    context.load_verify_locations(str(chain))
    context.verify_mode = ssl.CERT_REQUIRED

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            peer = self.connection.getpeercert()  # type: ignore[attr-defined]
            fake.peers.append(dict(rdn[0] for rdn in peer["subject"])["commonName"])
            status, body = fake.routes.get(self.path, (404, b'{"error":"not-found"}'))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    fake = FakeDeviceApi(server)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return fake


@pytest.fixture
def start_fake(pki: PkiLayout) -> Iterator[Callable[..., FakeDeviceApi]]:
    """Factory for fake device APIs (default: the hub's real certificate); all shut down at teardown."""
    started: list[FakeDeviceApi] = []

    def start(hub_pki: PkiLayout | None = None) -> FakeDeviceApi:
        web = (hub_pki or pki).hub_web
        fake = _start_fake((web.cert_file, web.key_file), pki.chain)
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.server.shutdown()
        fake.server.server_close()


@pytest.fixture
def hub(start_fake: Callable[..., FakeDeviceApi]) -> FakeDeviceApi:
    """The stand-in for the hub's device API."""
    return start_fake()


@pytest.fixture
def settings(tmp_path: Path, pki: PkiLayout, hub: FakeDeviceApi) -> KioskSettings:
    """Änge's settings with its device certificate, pointing at the fake hub."""
    device = pki.device("ange")
    return load_kiosk_settings(
        device_id="ange",
        office_name="Änge",
        data_dir=tmp_path / "kiosk",
        hub_url=hub.url,
        mqtt_ca_file=pki.chain,
        mqtt_cert_file=device.cert_file,
        mqtt_key_file=device.key_file,
        sets_fetch_timeout_seconds=3.0,
    )


@pytest.fixture
def engine(settings: KioskSettings) -> Iterator[Engine]:
    """The kiosk's migrated database."""
    engine = make_engine(settings.database)
    upgrade(engine, settings.device_id)
    yield engine
    engine.dispose()


def _hold_version_1(engine: Engine, settings: KioskSettings, hub: FakeDeviceApi) -> bytes:
    body = set_body("config", {"idle_seconds": 90})
    hub.serve(1, body)
    assert replica.on_set_version(engine, settings, notice("config", 1, body)).status is FetchStatus.UPDATED
    return body


def test_a_newer_set_is_fetched_over_mutual_tls_and_becomes_the_current_copy(
    engine: Engine, settings: KioskSettings, hub: FakeDeviceApi
) -> None:
    """The kiosk shows its own certificate (CN ange), checks the hash and keeps the set as its copy (SEC-12)."""
    assert replica.current(engine, "config") is None
    body = set_body("config", {"idle_seconds": 60, "languages": ["sv", "en"]})
    hub.serve(1, body)
    result = replica.on_set_version(engine, settings, notice("config", 1, body))
    assert (result.status, result.version, result.retry_later) == (FetchStatus.UPDATED, 1, False)
    copy = replica.current(engine, "config")
    assert copy is not None and copy.version == 1 and copy.sha256 == hashlib.sha256(body).hexdigest()
    assert copy.content == {"idle_seconds": 60, "languages": ["sv", "en"]}
    assert hub.peers == ["ange"]


def test_a_version_the_kiosk_already_holds_is_not_fetched_again(
    engine: Engine, settings: KioskSettings, hub: FakeDeviceApi
) -> None:
    """A retained notice arrives on every reconnect: the same or an older version costs no request."""
    body = _hold_version_1(engine, settings, hub)
    again = replica.on_set_version(engine, settings, notice("config", 1, body))
    older = replica.on_set_version(engine, settings, notice("config", 0, body))
    assert (again.status, older.status) == (FetchStatus.CURRENT, FetchStatus.CURRENT)
    assert len(hub.peers) == 1


def _refused_keeping_version_1(
    engine: Engine, settings: KioskSettings, message: SetVersion, caplog: pytest.LogCaptureFixture, words: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="kiosk.replica"):
        result = replica.on_set_version(engine, settings, message)
    assert result.status is FetchStatus.REFUSED and result.version == 1 and words in result.detail
    copy = replica.current(engine, "config")
    assert copy is not None and copy.version == 1 and copy.content == {"idle_seconds": 90}
    assert any(words in getattr(record, "reason", "") for record in caplog.records), "the refusal is logged"
    with make_session_factory(engine)() as session:
        row = session.scalars(select(ReplicaRow)).one()
    assert row.announced_version == message.version and row.last_error and words in row.last_error


def test_a_body_with_one_flipped_byte_is_refused_and_the_last_good_copy_kept(
    engine: Engine, settings: KioskSettings, hub: FakeDeviceApi, caplog: pytest.LogCaptureFixture
) -> None:
    """SEC-12: the served bytes do not hash to the announced SHA-256: refused, logged, version 1 kept."""
    _hold_version_1(engine, settings, hub)
    good = set_body("config", {"idle_seconds": 30})
    tampered = good.replace(b"30", b"31")
    hub.serve(2, tampered)
    _refused_keeping_version_1(engine, settings, notice("config", 2, good), caplog, "is not the announced")


def test_a_notice_whose_sha256_differs_from_the_served_bytes_is_refused(
    engine: Engine, settings: KioskSettings, hub: FakeDeviceApi, caplog: pytest.LogCaptureFixture
) -> None:
    """SEC-12 from the other side: the notice names other bytes than the hub serves."""
    _hold_version_1(engine, settings, hub)
    body = set_body("config", {"idle_seconds": 30})
    hub.serve(2, body)
    message = notice("config", 2, body, sha256=hashlib.sha256(b"other").hexdigest())
    _refused_keeping_version_1(engine, settings, message, caplog, "is not the announced")


@pytest.mark.parametrize(
    ("served", "words"),
    [
        (set_body("trust", {"ca_chain": []}), "body of set 'config'"),
        (b'{"content": {}, "schema": 1, "set": "config"}', "canonical"),
        (codec.encode({"content": {}, "schema": 2, "set": "config"}), "schema 1 body"),
        (codec.encode([1, 2, 3]), "schema 1 body"),
    ],
    ids=["another-set", "not-canonical", "other-schema", "not-an-object"],
)
def test_bytes_that_match_their_hash_but_are_not_this_set_are_refused(
    engine: Engine,
    settings: KioskSettings,
    hub: FakeDeviceApi,
    caplog: pytest.LogCaptureFixture,
    served: bytes,
    words: str,
) -> None:
    """A correctly hashed body must still be a canonical schema-1 body of the announced set (SEC-12, SEC-19)."""
    _hold_version_1(engine, settings, hub)
    hub.serve(2, served)
    _refused_keeping_version_1(engine, settings, notice("config", 2, served), caplog, words)


def test_an_oversize_set_is_refused(
    engine: Engine,
    settings: KioskSettings,
    hub: FakeDeviceApi,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The kiosk reads at most MAX_SET_BYTES of a set (SEC-19)."""
    _hold_version_1(engine, settings, hub)
    big = set_body("config", {"pad": "x" * 300_000})
    hub.serve(2, big)
    monkeypatch.setattr(replica, "MAX_SET_BYTES", 100_000)
    _refused_keeping_version_1(engine, settings, notice("config", 2, big), caplog, "larger than")


def test_an_unreachable_hub_keeps_the_last_good_copy_until_a_retry_succeeds(
    engine: Engine, settings: KioskSettings, hub: FakeDeviceApi
) -> None:
    """SEC-11: the network is down: version 1 stays in use, the caller is told to retry, and the retry works."""
    _hold_version_1(engine, settings, hub)
    body = set_body("config", {"idle_seconds": 45})
    hub.serve(2, body)
    offline = replace(settings, hub_url=f"https://127.0.0.1:{free_port()}")
    result = replica.on_set_version(engine, offline, notice("config", 2, body))
    assert (result.status, result.version, result.retry_later) == (FetchStatus.UNREACHABLE, 1, True)
    assert "cannot be reached" in result.detail
    copy = replica.current(engine, "config")
    assert copy is not None and copy.version == 1
    assert replica.on_set_version(engine, settings, notice("config", 2, body)).status is FetchStatus.UPDATED
    copy = replica.current(engine, "config")
    assert copy is not None and copy.version == 2 and copy.content == {"idle_seconds": 45}


@pytest.mark.parametrize(("status", "expected"), [(503, FetchStatus.UNREACHABLE), (403, FetchStatus.REFUSED)])
def test_a_hub_that_answers_an_error_leaves_the_copy_alone(
    engine: Engine, settings: KioskSettings, hub: FakeDeviceApi, status: int, expected: FetchStatus
) -> None:
    """A busy hub (503) means try again later; a hub that refuses the device (403) is not retried blindly."""
    _hold_version_1(engine, settings, hub)
    body = set_body("config", {"idle_seconds": 45})
    hub.serve(2, b'{"error":"x"}', status=status)
    result = replica.on_set_version(engine, settings, notice("config", 2, body))
    assert result.status is expected and f"answered {status}" in result.detail
    copy = replica.current(engine, "config")
    assert copy is not None and copy.version == 1


def test_a_hub_with_a_certificate_from_another_ca_is_not_trusted(
    engine: Engine, settings: KioskSettings, start_fake: Callable[..., FakeDeviceApi], foreign_pki: PkiLayout
) -> None:
    """An impostor hub (another CA's server certificate) never gets to hand the kiosk a set (SEC-12)."""
    impostor = start_fake(foreign_pki)
    body = set_body("config", {"idle_seconds": 1})
    impostor.serve(1, body)
    result = replica.on_set_version(engine, replace(settings, hub_url=impostor.url), notice("config", 1, body))
    assert result.status is FetchStatus.UNREACHABLE and "not trusted" in result.detail
    assert replica.current(engine, "config") is None and impostor.peers == []


def test_a_notice_that_is_not_from_the_hub_is_refused(
    engine: Engine, settings: KioskSettings, hub: FakeDeviceApi
) -> None:
    """Only the hub announces sets; a notice with another sender is refused without a fetch."""
    body = set_body("config", {"idle_seconds": 1})
    hub.serve(1, body)
    result = replica.on_set_version(engine, settings, notice("config", 1, body, sender="follinge"))
    assert result.status is FetchStatus.REFUSED and hub.peers == []


def test_resync_fetches_every_known_set_again_at_its_newest_announced_version(
    engine: Engine, settings: KioskSettings, hub: FakeDeviceApi
) -> None:
    """After a failed fetch the announcement is remembered: the resync command fetches it, and the others anew."""
    _hold_version_1(engine, settings, hub)
    schedule = set_body("schedule", {"offices": {}})
    hub.serve(1, schedule, name="schedule")
    replica.on_set_version(engine, settings, notice("schedule", 1, schedule))
    body = set_body("config", {"idle_seconds": 45})
    offline = replace(settings, hub_url=f"https://127.0.0.1:{free_port()}")
    assert replica.on_set_version(engine, offline, notice("config", 2, body)).status is FetchStatus.UNREACHABLE
    hub.serve(2, body)
    results = replica.resync(engine, settings)
    assert [(r.name, r.status, r.version) for r in results] == [
        ("config", FetchStatus.UPDATED, 2),
        ("schedule", FetchStatus.UPDATED, 1),
    ]
    copy = replica.current(engine, "config")
    assert copy is not None and copy.content == {"idle_seconds": 45}


def test_resync_of_a_kiosk_that_knows_no_sets_fetches_nothing(engine: Engine, settings: KioskSettings) -> None:
    """A fresh kiosk learns its sets from the retained notices; until then there is nothing to resync."""
    assert replica.resync(engine, settings) == []


def test_a_reader_sees_the_old_set_or_the_new_one_never_a_mixture(
    engine: Engine, settings: KioskSettings, hub: FakeDeviceApi
) -> None:
    """While versions are swapped in, every read is one consistent version (its content names its version)."""
    bodies = {n: set_body("config", {"n": n, "pad": "x" * 20_000}) for n in range(1, 11)}
    for n, body in bodies.items():
        hub.serve(n, body)
    replica.on_set_version(engine, settings, notice("config", 1, bodies[1]))
    seen: list[tuple[int, int]] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            copy = replica.current(engine, "config")
            assert copy is not None
            seen.append((copy.version, copy.content["n"]))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(2, 11):
            assert (
                replica.on_set_version(engine, settings, notice("config", n, bodies[n])).status is FetchStatus.UPDATED
            )
    finally:
        stop.set()
        reader.join(10)
    assert seen and all(version == n for version, n in seen)
    assert [version for version, _ in seen] == sorted(version for version, _ in seen)


def test_a_kiosk_without_its_device_certificate_is_a_configuration_error(engine: Engine, tmp_path: Path) -> None:
    """The only exception on_set_version raises for settings: no credentials, or a hub_url that is not https."""
    bare = load_kiosk_settings(device_id="ange", office_name="Änge", data_dir=tmp_path / "bare")
    body = set_body("config", {})
    with pytest.raises(ConfigError, match="mqtt_cert_file"):
        replica.on_set_version(engine, bare, notice("config", 1, body))
    plain = replace(
        bare, mqtt_ca_file=Path("ca"), mqtt_cert_file=Path("c"), mqtt_key_file=Path("k"), hub_url="http://x"
    )
    with pytest.raises(ConfigError, match="https://"):
        replica.check_settings(plain)
