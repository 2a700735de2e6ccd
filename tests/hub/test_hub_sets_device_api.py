"""The device API for real: `tinget hub device-api` under gunicorn with TLS and required client certificates.

One server per database (SQLite and PostgreSQL) serves every test in this module; `DeviceApi` and
`start_device_api` are also used by the kiosk's end-to-end replica test.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import secrets
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub.db import make_engine
from hub.migrate import upgrade
from hub.sets.service import publish_sets
from hub.settings import load_hub_settings
from protocol import codec, topics
from provisioning.pki import Credential, PkiLayout
from tests.hub.helpers import write_config
from tests.support.mosquitto import _die_with_parent, free_port

START_TIMEOUT = 15.0


@dataclass
class Answer:
    """An HTTP response as the test saw it."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def https_get(
    port: int, path: str, *, ca_file: Path, credential: Credential | None, headers: dict[str, str] | None = None
) -> Answer:
    """GET over TLS from 127.0.0.1, checking the server against ``ca_file`` and showing ``credential``."""
    context = ssl.create_default_context(cafile=str(ca_file))
    if credential is not None:
        context.load_cert_chain(str(credential.cert_file), str(credential.key_file))
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


@dataclass
class DeviceApi:
    """A running ``tinget hub device-api`` process."""

    port: int
    process: subprocess.Popen[bytes]
    log_file: Path
    pki: PkiLayout

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def get(self, path: str, device: str | None = "ange", **options: Any) -> Answer:
        """GET ``path`` as ``device`` (None: without a client certificate)."""
        credential = self.pki.device(device) if device else None
        return https_get(self.port, path, ca_file=self.pki.chain, credential=credential, **options)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def start_device_api(folder: Path, pki: PkiLayout, database_url: str, revoked_file: Path) -> DeviceApi:
    """Start the device API on a free port for ``database_url`` and wait until it answers ange."""
    port = free_port()
    config = write_config(
        folder,
        database_url=database_url,
        device_api_port=port,
        device_api_cert_file=pki.hub_web.cert_file,
        device_api_key_file=pki.hub_web.key_file,
        device_api_ca_file=pki.chain,
        device_api_revoked_file=revoked_file,
        log_level="warning",
    )
    log_file = folder / "device-api.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tinget.cli", "hub", "device-api", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # gunicorn dies with pytest, even a killed one
        )
    api = DeviceApi(port, process, log_file, pki)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"device API exited with {process.returncode}: {log_file.read_text()[-2000:]}")
        try:
            if api.get("/device/v1/time").status == 200:
                return api
        except OSError:
            time.sleep(0.1)
    api.stop()
    raise AssertionError(f"device API did not answer within {START_TIMEOUT}s: {log_file.read_text()[-2000:]}")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def device_api(
    request: pytest.FixtureRequest, pki: PkiLayout, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DeviceApi]:
    """The device API on a migrated database (SQLite or PostgreSQL) with every set published once."""
    from tests.hub.conftest import PG_URL, _pg_admin

    folder = tmp_path_factory.mktemp(f"device-api-{request.param}")
    pg_name = None
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'hub.db'}"
        engine = make_engine(url)
        upgrade(engine)
    else:
        template = request.getfixturevalue("postgres_template")
        pg_name = f"{template}_{secrets.token_hex(3)}"
        with _pg_admin() as admin:
            admin.execute(f'CREATE DATABASE "{pg_name}" TEMPLATE "{template}"')
        url = PG_URL.format(name=pg_name)
        engine = make_engine(url)
    revoked = folder / "revoked.json"
    revoked.write_bytes(pki.revoked_file.read_bytes())
    settings = load_hub_settings(
        None, database_url=url, data_dir=folder, device_api_ca_file=pki.chain, device_api_revoked_file=revoked
    )
    publish_sets(settings, engine, actor="test", announce=False)
    engine.dispose()
    api = start_device_api(folder, pki, url, revoked)
    try:
        yield api
    finally:
        api.stop()
        if pg_name:
            with _pg_admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def test_a_kiosk_gets_the_current_set_bytes_with_their_sha256_as_etag(device_api: DeviceApi) -> None:
    """ange fetches every set: the body hashes to the ETag and is the canonical set document (SEC-12)."""
    for name in topics.SET_NAMES:
        answer = device_api.get(f"/device/v1/sets/{name}")
        assert answer.status == 200 and answer.headers["Content-Type"] == "application/json"
        assert answer.headers["ETag"] == f'"{hashlib.sha256(answer.body).hexdigest()}"'
        assert answer.headers["X-Tinget-Set-Version"] == "1"
        assert codec.decode(answer.body, max_size=10**6)["set"] == name


def test_a_named_version_is_served_exactly_and_an_unpublished_one_is_a_json_404(device_api: DeviceApi) -> None:
    """``?version=1`` gives the same bytes; version 99 does not exist; a bad number is a 400."""
    newest = device_api.get("/device/v1/sets/config")
    assert device_api.get("/device/v1/sets/config?version=1").body == newest.body
    missing = device_api.get("/device/v1/sets/config?version=99")
    assert missing.status == 404 and missing.json()["error"] == "no-such-version"
    bad = device_api.get("/device/v1/sets/config?version=-1")
    assert bad.status == 400 and bad.json()["error"] == "bad-version"


def test_an_unchanged_set_answers_304_to_its_etag(device_api: DeviceApi) -> None:
    """A kiosk that already holds the bytes can ask with If-None-Match and gets no body."""
    etag = device_api.get("/device/v1/sets/trust").headers["ETag"]
    again = device_api.get("/device/v1/sets/trust", headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b""


def test_errors_are_json_never_html(device_api: DeviceApi) -> None:
    """Unknown set, unknown path: a JSON body with an error code, no stack trace, nothing personal."""
    unknown_set = device_api.get("/device/v1/sets/voters")
    assert unknown_set.status == 404 and unknown_set.json()["error"] == "unknown-set"
    unknown_path = device_api.get("/admin/")
    assert unknown_path.status == 404 and unknown_path.json()["error"] == "not-found"
    assert b"Traceback" not in unknown_path.body and b"<html" not in unknown_path.body.lower()


def test_the_hub_clock_is_served_to_a_device(device_api: DeviceApi) -> None:
    """/device/v1/time gives the hub's Unix milliseconds (for the kiosk's clock offset) and the device's id."""
    before = time.time_ns() // 1_000_000
    answer = device_api.get("/device/v1/time", device="follinge").json()
    after = time.time_ns() // 1_000_000
    assert before <= answer["now_ms"] <= after and answer["device"] == "follinge"


def test_a_client_without_a_certificate_is_refused_in_the_tls_handshake(device_api: DeviceApi) -> None:
    """No client certificate, no HTTP: the server ends the handshake (SEC-12, SEC-17)."""
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.RemoteDisconnected)):
        device_api.get("/device/v1/sets/config", device=None)


def test_a_client_certificate_from_a_foreign_ca_is_refused_in_the_tls_handshake(
    device_api: DeviceApi, foreign_pki: PkiLayout
) -> None:
    """An attacker's CA issued its own "ange": the handshake fails, whatever the CN says (SEC-12)."""
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.RemoteDisconnected)):
        https_get(
            device_api.port,
            "/device/v1/sets/config",
            ca_file=device_api.pki.chain,
            credential=foreign_pki.device("ange"),
        )


def test_a_revoked_device_gets_403_on_every_path(device_api: DeviceApi) -> None:
    """revoked-one still has a valid certificate, but the revocation list shuts it out (SEC-17)."""
    for path in ("/device/v1/sets/config", "/device/v1/time", "/nowhere"):
        answer = device_api.get(path, device="revoked-one")
        assert answer.status == 403 and answer.json()["error"] == "device-revoked"


def test_a_device_revoked_while_the_api_runs_is_refused_at_its_next_request(device_api: DeviceApi) -> None:
    """The API re-reads revoked.json when it changes: no restart is needed to cut a lost kiosk off."""
    revoked_file = device_api.log_file.parent / "revoked.json"
    original = revoked_file.read_bytes()
    assert device_api.get("/device/v1/time", device="follinge").status == 200
    entries = [{"device": "revoked-one"}, {"device": "follinge"}]
    replacement = revoked_file.with_suffix(".new")
    replacement.write_text(json.dumps({"version": 1, "revoked": entries}), encoding="utf-8")
    replacement.replace(revoked_file)  # provisioning replaces the file atomically too
    try:
        assert device_api.get("/device/v1/time", device="follinge").status == 403
        assert device_api.get("/device/v1/time", device="ange").status == 200
    finally:
        replacement.write_bytes(original)
        replacement.replace(revoked_file)
    assert device_api.get("/device/v1/time", device="follinge").status == 200


def test_the_device_api_refuses_to_start_without_its_certificate(tmp_path: Path) -> None:
    """No device_api_cert_file: one line naming the setting and exit 2, before gunicorn starts."""
    config = write_config(tmp_path, database_url=f"sqlite:///{tmp_path / 'hub.db'}")
    result = subprocess.run(
        [sys.executable, "-m", "tinget.cli", "hub", "device-api", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("tinget: configuration error: device_api_cert_file is not set")
