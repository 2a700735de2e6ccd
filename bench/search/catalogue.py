"""The kiosk catalogue sync of 100,000 documents' metadata, over the real device API with mutual TLS.

A throw-away PKI, a hub database holding the catalogue's chunks and manifest (as `hub.registry.catalogue`
writes them), ``tinget hub device-api`` under gunicorn, and a kiosk database: timed from the kiosk learning
of the new ``catalogue`` version until its search index holds every document. The baseline is the design
this replaced: one set holding every document, decoded and indexed whole (measured in-process, no network).
"""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.search.corpus import BOARDS, KINDS, TITLES, TOPICS


def entries(count: int, seed: int = 11) -> list[dict[str, Any]]:
    """``count`` public documents as the catalogue carries them (metadata and a short text)."""
    rng = random.Random(seed)
    out = []
    for i in range(1, count + 1):
        board = BOARDS[i % len(BOARDS)]
        title = rng.choice(TITLES).format(topic=rng.choice(TOPICS), place="Föllinge")
        out.append(
            {
                "id": i,
                "number": f"{board} 2026/{i}-1",
                "case_number": f"{board} 2026/{i}",
                "case_title": title,
                "board": board,
                "kind": KINDS[i % len(KINDS)],
                "title": title,
                "date": "2026-03-04",
                "counterpart": None,
                "secrecy": "public",
                "osl": None,
                "personal_data": False,
                "text": "",
                "file": {
                    "sha256": hashlib.sha256(str(i).encode()).hexdigest(),
                    "media_type": "application/pdf",
                    "size": 40_000 + i % 1000,
                    "pages": 2,
                },
            }
        )
    return out


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(folder: Path, count: int) -> tuple[float, float]:
    """(seconds for the chunked sync over mTLS, seconds for the single-set baseline) for ``count`` documents."""
    from sqlalchemy import func, select

    from hub.db import make_engine as hub_engine
    from hub.db import make_session_factory, unit_of_work, utcnow
    from hub.migrate import upgrade as hub_upgrade
    from hub.registry.catalogue import CHUNK_SIZE, manifest
    from hub.registry.models import CatalogueChunk
    from hub.sets.content import encode_set
    from hub.sets.publication import announcement, publish
    from kiosk import replica
    from kiosk.records import catalogue
    from kiosk.records.models import DocumentRow
    from kiosk.settings import load_kiosk_settings
    from kiosk.store import make_engine, upgrade
    from kiosk.store import make_session_factory as kiosk_sessions
    from protocol import codec
    from provisioning.pki import PkiLayout, ensure_device, ensure_pki

    ensure_pki(folder / "pki")
    ensure_device(folder / "pki", "follinge")
    pki = PkiLayout(folder / "pki")
    url = f"sqlite:///{folder / 'hub.db'}"
    engine = hub_engine(url)
    hub_upgrade(engine)
    docs = entries(count)
    with unit_of_work(make_session_factory(engine)) as session:
        for start in range(0, count, CHUNK_SIZE):
            number = (start + 1) // CHUNK_SIZE
            part = [d for d in docs[start : start + CHUNK_SIZE]]
            body = codec.encode({"chunk": number, "documents": part})
            session.add(
                CatalogueChunk(sha256=hashlib.sha256(body).hexdigest(), number=number, body=body, created_at=utcnow())
            )
        session.flush()
        rows = publish(
            session, {"catalogue": encode_set("catalogue", manifest(session, "https://x.example"))}, actor="bench"
        )
    engine.dispose()
    notice = announcement(rows[0])
    port = free_port()
    config = folder / "hub.toml"
    (folder / "secret").write_text("x" * 64)
    (folder / "secret").chmod(0o600)
    config.write_text(
        "\n".join(
            [
                f'database_url = "{url}"',
                f'data_dir = "{folder}"',
                f'secret_key_file = "{folder / "secret"}"',
                f"device_api_port = {port}",
                f'device_api_cert_file = "{pki.hub_web.cert_file}"',
                f'device_api_key_file = "{pki.hub_web.key_file}"',
                f'device_api_ca_file = "{pki.chain}"',
                'log_level = "warning"',
            ]
        )
        + "\n"
    )
    api = subprocess.Popen(
        [sys.executable, "-m", "tinget.cli", "hub", "device-api", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        credential = pki.device("follinge")
        settings = load_kiosk_settings(
            device_id="follinge",
            office_name="Föllinge",
            data_dir=folder / "kiosk",
            hub_url=f"https://127.0.0.1:{port}",
            mqtt_ca_file=pki.chain,
            mqtt_cert_file=credential.cert_file,
            mqtt_key_file=credential.key_file,
        )
        kiosk = make_engine(settings.database)
        upgrade(kiosk, "follinge")
        _wait_for_port(port)
        started = time.perf_counter()
        assert replica.on_set_version(kiosk, settings, notice).status == replica.FetchStatus.UPDATED
        report = catalogue.sync(kiosk, settings)
        chunked = time.perf_counter() - started
        with kiosk_sessions(kiosk)() as session:
            held = session.scalar(select(func.count()).select_from(DocumentRow))
        assert held == count and not report.failed, (held, report.failed)
        kiosk.dispose()
    finally:
        api.terminate()
        api.wait(10)
    return chunked, single_set_baseline(folder, docs)


def single_set_baseline(folder: Path, docs: list[dict[str, Any]]) -> float:
    """The old design's cost at the kiosk: one canonical set of every document, decoded and indexed whole."""
    from kiosk.records import catalogue
    from kiosk.settings import load_kiosk_settings
    from kiosk.store import make_engine, make_session_factory, upgrade
    from protocol import codec

    body = codec.encode({"content": {"documents": docs}, "schema": 1, "set": "catalogue"})
    settings = load_kiosk_settings(device_id="ange", office_name="Änge", data_dir=folder / "single")
    engine = make_engine(settings.database)
    upgrade(engine, "ange")
    started = time.perf_counter()
    decoded = codec.decode(body, max_size=len(body))["content"]["documents"]
    with make_session_factory(engine).begin() as session:
        catalogue.store_chunk(session, 0, "0" * 64, decoded)
    engine.dispose()
    return time.perf_counter() - started


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("the device API did not start")
