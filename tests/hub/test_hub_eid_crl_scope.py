"""The hub's revocation lists for kiosks: only complete, current lists signed by a configured issuer are fetched
and published, a slow or broken server stops nothing, and the trust set never outgrows what kiosks accept
(SEC-01, SEC-12, SEC-19)."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from hub.sets.revocation import crl_file_name, refresh_crls
from hub.sets.trust import TrustError, read_eid_crls
from tests.support.eid import make_crl, make_issuer


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory):
    return make_issuer(tmp_path_factory.mktemp("issuer"))


class RawServer:
    """A TCP server answering each connection with ``script(connection)``: for servers that misbehave."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.routes: dict[str, object] = {}
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}{path}"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            request = connection.recv(4096).decode("latin-1")
            path = request.split(" ")[1] if " " in request else "/"
            answer = self.routes.get(path)
            try:
                if callable(answer):
                    answer(connection)
                elif isinstance(answer, bytes):
                    head = f"HTTP/1.0 200 OK\r\nContent-Length: {len(answer)}\r\n\r\n".encode()
                    connection.sendall(head + answer)
                else:
                    connection.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def server() -> Iterator[RawServer]:
    running = RawServer()
    yield running
    running.close()


def der(crl) -> bytes:
    return crl.public_bytes(serialization.Encoding.DER)


def test_only_a_complete_current_list_is_stored(issuer, tmp_path: Path, server: RawServer) -> None:
    """SEC-01: a delta list, a partial one, one from the future and one already stale are all refused with their
    reason; the complete current one is stored."""
    now = dt.datetime.now(dt.UTC)
    lists = {
        "/delta.crl": make_crl(issuer, delta=True),
        "/partial.crl": make_crl(issuer, partial=True),
        "/future.crl": make_crl(issuer, issued_at=now + dt.timedelta(days=2)),
        "/stale.crl": make_crl(issuer, issued_at=now - dt.timedelta(days=3), next_update=now - dt.timedelta(days=1)),
        "/complete.crl": make_crl(issuer),
    }
    for path, crl in lists.items():
        server.routes[path] = der(crl)
    results = refresh_crls([server.url(path) for path in lists], issuer.ca_dir / "chain.pem", tmp_path / "crl")
    outcomes = {result.url.rsplit("/", 1)[1]: (result.outcome, result.detail) for result in results}
    assert outcomes["complete.crl"][0] == "stored"
    assert "delta" in outcomes["delta.crl"][1]
    assert "part" in outcomes["partial.crl"][1]
    assert "future" in outcomes["future.crl"][1]
    assert "past its next update" in outcomes["stale.crl"][1]
    assert all(outcome == "failed" for name, (outcome, _d) in outcomes.items() if name != "complete.crl")


def test_a_server_that_trickles_or_answers_garbage_stops_neither_the_fetch_nor_the_others(
    issuer, tmp_path: Path, server: RawServer
) -> None:
    """SEC-19: a server sending one byte at a time is cut off at the deadline; a garbage status line is one
    failed address; the next address is still fetched."""

    def trickle(connection: socket.socket) -> None:
        connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(40):
            connection.sendall(b"x")
            time.sleep(0.1)

    server.routes["/slow.crl"] = trickle
    server.routes["/garbage.crl"] = lambda connection: connection.sendall(b"HELLO THERE\r\n\r\n")
    server.routes["/good.crl"] = der(make_crl(issuer))
    started = time.monotonic()
    results = refresh_crls(
        [server.url("/slow.crl"), server.url("/garbage.crl"), server.url("/good.crl")],
        issuer.ca_dir / "chain.pem",
        tmp_path / "crl",
        timeout=1.0,
    )
    assert [result.outcome for result in results] == ["failed", "failed", "stored"]
    assert "took longer" in results[0].detail
    assert time.monotonic() - started < 4.0 + 2.0  # 40 bytes at 0.1 s would take 4 s; the deadline is 1 s


def test_two_cas_with_one_name_keep_separate_lists(tmp_path: Path) -> None:
    """A CA renewed under the same name with a new key is another issuer: its list does not overwrite the old
    generation's."""
    from provisioning.eid import ensure_test_ca
    from provisioning.pem import read_cert

    ensure_test_ca(tmp_path / "gen1", organisation="Same Name")
    ensure_test_ca(tmp_path / "gen2", organisation="Same Name")
    first, second = read_cert(tmp_path / "gen1" / "issuing.pem"), read_cert(tmp_path / "gen2" / "issuing.pem")
    assert first.subject == second.subject
    assert crl_file_name(first) != crl_file_name(second)


def test_a_published_folder_holds_only_genuine_complete_lists(issuer, tmp_path: Path) -> None:
    """SEC-12: a stray file in eid_crl_dir (another issuer's list, a delta) stops the publication by name, instead
    of reaching every kiosk."""
    from cryptography import x509

    authorities = x509.load_pem_x509_certificates((issuer.ca_dir / "chain.pem").read_bytes())
    folder = tmp_path / "crl"
    folder.mkdir()
    (folder / "good.crl").write_bytes(der(make_crl(issuer)))
    assert len(read_eid_crls(folder, authorities)) == 1
    (folder / "delta.crl").write_bytes(der(make_crl(issuer, delta=True)))
    with pytest.raises(TrustError, match="delta"):
        read_eid_crls(folder, authorities)
    (folder / "delta.crl").unlink()
    other = make_issuer(tmp_path / "other")
    (folder / "other.crl").write_bytes(der(make_crl(other)))
    with pytest.raises(TrustError, match="not signed by a CA"):
        read_eid_crls(folder, authorities)


def test_the_hub_refuses_to_publish_a_set_larger_than_kiosks_accept(monkeypatch, settings, session_factory) -> None:
    """A set over the kiosks' limit would be refused by every kiosk: the hub says so instead of publishing it."""
    import hub.sets.service as service
    from hub.db import unit_of_work

    monkeypatch.setattr(service, "MAX_SET_BYTES", 50)
    with (
        unit_of_work(session_factory, write=False) as session,
        pytest.raises(TrustError, match="more than kiosks accept"),
    ):
        service.build_bodies(settings, session)
