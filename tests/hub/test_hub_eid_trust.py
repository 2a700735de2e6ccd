"""e-ID at the hub: the issuers' CAs and revocation lists, staff cards, the signed staff list, the trust set,
fetching lists from the issuers, and kiosk card events in the audit log (SEC-12, SEC-14, SEC-16, SEC-19).

Issuers and cards come from `provisioning.eid` (a test issuer in a temp dir); the signing key is the hub's
client key from the session's device PKI (`pki`). Tests that touch the database run on SQLite and PostgreSQL.
Revocation lists are fetched from a real HTTP server on 127.0.0.1 that each test starts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit import log as audit_log
from hub.audit.card_events import EVENTS, record_card_event
from hub.audit.models import AuditEntryRow
from hub.db import make_engine, unit_of_work, utcnow
from hub.ingest.handlers import ActionContext, ActionRefused, default_handlers
from hub.ingest.reading import Incoming
from hub.ingest.received import ACCEPTED, REFUSED, find_received
from hub.ingest.records import record_group
from hub.sets import announce as announcer
from hub.sets import revocation, trust
from hub.sets.publication import find_version
from hub.sets.revocation import CrlRefresh, crl_file_name, refresh_crls
from hub.sets.service import build_bodies, publish_sets
from hub.sets.staff_list import signed_staff_list
from hub.sets.trust import TrustError, read_eid_certificates, read_eid_crls
from hub.settings import HubSettings
from hub.staff import accounts
from hub.staff.accounts import StaffError
from hub.staff.cards import card_roles, set_employee_id
from hub.staff.models import StaffUser
from hub.staff.roles import Role
from protocol import codec, messages, topics
from protocol.eid import STAFF_LIST_PURPOSE, RefusalReason
from protocol.signed import SignatureRefused, verify_document
from provisioning import eid as issuer
from provisioning import pem
from provisioning.pki import PkiLayout
from tests.hub.helpers import PASSWORD, closed_port, fresh_sessions, write_config
from tests.support.pii import find_personnummer
from tinget.cli import cli

ANNA = "19850412-2386"
EMPLOYEE = "SE2321000255-abc123"
OTHER_EMPLOYEE = "SE2321000255-demo01"
TOTP_KEY = b"t" * 32


# --- test issuers ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A test e-ID issuer that no test changes."""
    directory = tmp_path_factory.mktemp("eid-ca")
    issuer.ensure_test_ca(directory)
    return directory


@pytest.fixture
def ca_dir(tmp_path: Path) -> Path:
    """A test e-ID issuer of this test's own (to revoke cards on, re-sign lists)."""
    directory = tmp_path / "eid-ca"
    issuer.ensure_test_ca(directory)
    return directory


def layout(directory: Path) -> issuer.IssuerLayout:
    return issuer.IssuerLayout(directory)


def as_der(pem_crl: bytes) -> bytes:
    return x509.load_pem_x509_crl(pem_crl).public_bytes(serialization.Encoding.DER)


# --- read_eid_certificates ---------------------------------------------------------------------------------


def test_the_issuers_ca_file_gives_each_ca_certificate_as_one_pem_block(shared_ca: Path) -> None:
    blocks = read_eid_certificates(layout(shared_ca).chain)
    assert [x509.load_pem_x509_certificate(block.encode()) for block in blocks] == [
        pem.read_cert(layout(shared_ca).issuing_cert),
        pem.read_cert(layout(shared_ca).root_cert),
    ]
    assert all(block.startswith("-----BEGIN CERTIFICATE-----") and block.endswith("\n") for block in blocks)


def test_a_card_certificate_in_the_ca_file_is_refused(shared_ca: Path, tmp_path: Path) -> None:
    """A leaf among the anchors would let a kiosk trust whatever that card's key signs."""
    card = issuer.issue_card(shared_ca, tmp_path / "anna.json", name="Anna Andersson", personnummer=ANNA, pin="123456")
    card_pem = json.loads(card.path.read_text())["certificate"]
    mixed = tmp_path / "issuers.pem"
    mixed.write_text(layout(shared_ca).chain.read_text() + card_pem, encoding="ascii")
    expected = f"e-ID CA file {mixed} holds a certificate that is not a CA certificate"
    with pytest.raises(TrustError, match=re.escape(expected)):
        read_eid_certificates(mixed)


def test_a_device_certificate_is_not_an_eid_issuer(pki: PkiLayout, tmp_path: Path) -> None:
    with pytest.raises(TrustError, match="not a CA certificate"):
        read_eid_certificates(pki.device("ange").cert_file)


def test_a_certificate_without_basic_constraints_is_not_a_ca(shared_ca: Path, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Looks Like A CA")])
    now = dt.datetime.now(dt.UTC)
    bare = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "bare.pem"
    path.write_bytes(bare.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(TrustError, match="not a CA certificate"):
        read_eid_certificates(path)


def test_an_unreadable_ca_file_is_a_trust_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pem"
    with pytest.raises(TrustError, match=re.escape(f"CA chain {missing} cannot be read")):
        read_eid_certificates(missing)
    with pytest.raises(TrustError, match="cannot be read"):
        read_eid_certificates(tmp_path)  # a folder
    binary = tmp_path / "binary.pem"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(TrustError, match=re.escape(f"CA chain {binary} cannot be read")):
        read_eid_certificates(binary)
    empty = tmp_path / "empty.pem"
    empty.write_text("no certificates here\n", encoding="ascii")
    with pytest.raises(TrustError, match="holds no PEM certificate"):
        read_eid_certificates(empty)


def test_a_damaged_pem_block_is_refused(shared_ca: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nQUJDRA==\n-----END CERTIFICATE-----\n", encoding="ascii")
    with pytest.raises(TrustError, match="not a CA certificate"):
        read_eid_certificates(broken)


# --- read_eid_crls -----------------------------------------------------------------------------------------


def test_the_crl_folder_gives_every_list_as_pem_sorted_by_file_name(shared_ca: Path) -> None:
    crls = read_eid_crls(layout(shared_ca).crl_dir)
    folder = layout(shared_ca).crl_dir
    assert list(crls) == [(folder / "issuing.crl").read_text(), (folder / "root.crl").read_text()]


def test_der_and_pem_lists_are_both_read_and_given_as_pem(shared_ca: Path, tmp_path: Path) -> None:
    folder = tmp_path / "crl"
    folder.mkdir()
    issuing_pem = (layout(shared_ca).crl_dir / "issuing.crl").read_bytes()
    root_pem = (layout(shared_ca).crl_dir / "root.crl").read_bytes()
    (folder / "a-issuing.crl").write_bytes(as_der(issuing_pem))
    (folder / "b-root.pem").write_bytes(root_pem)
    assert read_eid_crls(folder) == (issuing_pem.decode(), root_pem.decode())


def test_other_files_and_folders_in_the_crl_folder_are_ignored(shared_ca: Path, tmp_path: Path) -> None:
    """Notes, backups, half-written temporary files and sub-folders are not lists."""
    folder = tmp_path / "crl"
    folder.mkdir()
    (folder / "issuing.crl").write_bytes((layout(shared_ca).crl_dir / "issuing.crl").read_bytes())
    for other in ("README.txt", "issuing.crl.bak", ".crl-x1y2.tmp", "issuing", "root.CRL.old"):
        (folder / other).write_text("not a list", encoding="ascii")
    (folder / "archive.crl").mkdir()
    assert len(read_eid_crls(folder)) == 1


@pytest.mark.parametrize("content", [b"", b"garbage", b"-----BEGIN X509 CRL-----\nQUJD\n-----END X509 CRL-----\n"])
def test_a_file_that_is_not_a_crl_is_refused_by_name(tmp_path: Path, content: bytes) -> None:
    folder = tmp_path / "crl"
    folder.mkdir()
    (folder / "bad.crl").write_bytes(content)
    with pytest.raises(TrustError, match=re.escape(f"revocation list {folder / 'bad.crl'} is not an X.509 CRL")):
        read_eid_crls(folder)


def test_a_certificate_in_the_crl_folder_is_not_a_list(shared_ca: Path, tmp_path: Path) -> None:
    folder = tmp_path / "crl"
    folder.mkdir()
    (folder / "root.pem").write_bytes(layout(shared_ca).root_cert.read_bytes())
    with pytest.raises(TrustError, match=r"is not an X\.509 CRL"):
        read_eid_crls(folder)


def test_a_missing_crl_folder_is_a_trust_error(tmp_path: Path) -> None:
    with pytest.raises(TrustError, match=re.escape(f"e-ID revocation list folder {tmp_path / 'none'} does not exist")):
        read_eid_crls(tmp_path / "none")
    a_file = tmp_path / "file.crl"
    a_file.write_text("x", encoding="ascii")
    with pytest.raises(TrustError, match="does not exist"):
        read_eid_crls(a_file)


def test_an_empty_crl_folder_gives_no_lists(tmp_path: Path) -> None:
    assert read_eid_crls(tmp_path) == ()


def test_an_oversize_list_is_refused(shared_ca: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trust, "MAX_CRL_BYTES", 100)
    with pytest.raises(TrustError, match="is larger than 100 bytes"):
        read_eid_crls(layout(shared_ca).crl_dir)


# --- staff cards (database) --------------------------------------------------------------------------------


def add_staff(session: Session, username: str, *roles: Role) -> None:
    accounts.add_staff(
        session,
        username=username,
        display_name=username.capitalize(),
        password=PASSWORD,
        roles=roles or (Role.STAFF,),
        totp_key=TOTP_KEY,
        actor="test",
    )


@pytest.fixture
def sessions(hub_db_url: str) -> Iterator[Any]:
    """A session factory on a fresh migrated database (SQLite and PostgreSQL)."""
    engine, factory = fresh_sessions(hub_db_url)
    yield factory
    engine.dispose()


def audit_rows(session: Session, prefix: str) -> list[AuditEntryRow]:
    query = select(AuditEntryRow).where(AuditEntryRow.action.startswith(prefix)).order_by(AuditEntryRow.seq)
    return list(session.scalars(query))


def test_setting_changing_and_removing_an_employee_id_is_audited(sessions: Any) -> None:
    """SEC-16: who gave whom which card id, and what it was before, is in the audit log; the chain holds.

    The id is stored without surrounding spaces, and the username is matched as sign-in matches it.
    """
    with unit_of_work(sessions) as session:
        add_staff(session, "anna", Role.ADMIN)
    with unit_of_work(sessions) as session:
        member = set_employee_id(session, username="  ANNA ", employee_id=f" {EMPLOYEE}\n", actor="cli:it")
    assert (member.username, member.employee_id) == ("anna", EMPLOYEE)
    with unit_of_work(sessions) as session:
        set_employee_id(session, username="anna", employee_id=OTHER_EMPLOYEE, actor="cli:it")
    with unit_of_work(sessions) as session:
        removed = set_employee_id(session, username="anna", employee_id=None, actor="admin")
    assert removed.employee_id is None
    with unit_of_work(sessions, write=False) as session:
        rows = audit_rows(session, "staff.employee_id")
        assert audit_log.verify_chain(session).ok
        assert session.scalar(select(StaffUser.employee_id).where(StaffUser.username == "anna")) is None
    assert [(row.actor, row.action, row.subject) for row in rows] == [
        ("cli:it", "staff.employee_id_set", "anna"),
        ("cli:it", "staff.employee_id_set", "anna"),
        ("admin", "staff.employee_id_removed", "anna"),
    ]
    assert [json.loads(row.details) for row in rows] == [
        {"employee_id": EMPLOYEE, "previous": None},
        {"employee_id": OTHER_EMPLOYEE, "previous": EMPLOYEE},
        {"employee_id": None, "previous": OTHER_EMPLOYEE},
    ]


INVALID_EMPLOYEE_IDS = ["SE123-abc", "se5566778899-abc", "198504122386", "", "SE5566778899-a b"]


def test_an_invalid_taken_or_unknown_card_change_is_refused_and_changes_nothing(sessions: Any) -> None:
    """Invalid ids are refused without repeating them; an id on another account and an unknown account too;
    nothing is stored and nothing is audited."""
    with unit_of_work(sessions) as session:
        add_staff(session, "anna")
        add_staff(session, "bertil")
        set_employee_id(session, username="bertil", employee_id=EMPLOYEE, actor="test")

    def refusal(username: str, employee_id: str) -> StaffError:
        with pytest.raises(StaffError) as refused, unit_of_work(sessions) as session:
            set_employee_id(session, username=username, employee_id=employee_id, actor="test")
        return refused.value

    for employee_id in INVALID_EMPLOYEE_IDS:
        invalid = refusal("anna", employee_id)
        assert invalid.code == "employee_id" and "is written like" in str(invalid)
        assert not employee_id or employee_id not in str(invalid)
    taken = refusal("anna", EMPLOYEE)
    assert (taken.code, str(taken)) == ("employee_id_taken", "the employee id is already on the account 'bertil'")
    unknown = refusal("nobody", OTHER_EMPLOYEE)
    assert (unknown.code, str(unknown)) == ("unknown_user", "there is no account named 'nobody'")
    with unit_of_work(sessions) as session:  # setting one's own id again is harmless
        assert set_employee_id(session, username="bertil", employee_id=EMPLOYEE, actor="test").employee_id == EMPLOYEE
    with unit_of_work(sessions, write=False) as session:
        cards = {
            row.username: row.employee_id for row in session.execute(select(StaffUser.username, StaffUser.employee_id))
        }
        assert cards == {"anna": None, "bertil": EMPLOYEE}
        assert len(audit_rows(session, "staff.employee_id")) == 2


def test_card_roles_lists_only_active_members_with_a_card(sessions: Any) -> None:
    with unit_of_work(sessions, write=False) as session:
        assert card_roles(session) == {}
    with unit_of_work(sessions) as session:
        add_staff(session, "anna", Role.STAFF, Role.ADMIN)
        add_staff(session, "bertil", Role.REGISTRAR)  # no card
        add_staff(session, "cecilia", Role.IT)
        set_employee_id(session, username="anna", employee_id=EMPLOYEE, actor="test")
        set_employee_id(session, username="cecilia", employee_id=OTHER_EMPLOYEE, actor="test")
    with unit_of_work(sessions, write=False) as session:
        assert card_roles(session) == {EMPLOYEE: ["admin", "staff"], OTHER_EMPLOYEE: ["it"]}
    with unit_of_work(sessions) as session:
        user = session.scalars(select(StaffUser).where(StaffUser.username == "cecilia")).one()
        user.active = False
    with unit_of_work(sessions, write=False) as session:
        assert card_roles(session) == {EMPLOYEE: ["admin", "staff"]}


# --- the signed staff list ---------------------------------------------------------------------------------


def chain_of(layout_: PkiLayout) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(layout_.chain.read_bytes())


def signing_settings(tmp_path: Path, pki: PkiLayout, **changes: Any) -> HubSettings:
    base = HubSettings(
        data_dir=tmp_path, mqtt_cert_file=pki.hub_client.cert_file, mqtt_key_file=pki.hub_client.key_file
    )
    return dataclasses.replace(base, **changes)


def test_without_the_hubs_key_there_is_no_staff_list(tmp_path: Path, pki: PkiLayout) -> None:
    """Kiosks then accept no staff card; nothing unsigned is ever sent in its place."""
    assert signed_staff_list(HubSettings(data_dir=tmp_path), {EMPLOYEE: ["admin"]}) is None
    assert signed_staff_list(signing_settings(tmp_path, pki, mqtt_key_file=None), {EMPLOYEE: ["admin"]}) is None
    assert signed_staff_list(signing_settings(tmp_path, pki, mqtt_cert_file=None), {EMPLOYEE: ["admin"]}) is None


def test_the_staff_list_verifies_against_the_device_pki_chain(tmp_path: Path, pki: PkiLayout) -> None:
    """SEC-12: what a kiosk checks with the CA chain it already trusts."""
    document = signed_staff_list(signing_settings(tmp_path, pki), {OTHER_EMPLOYEE: ["it"], EMPLOYEE: ["admin"]})
    assert document is not None
    content = verify_document(document, STAFF_LIST_PURPOSE, chain_of(pki))
    assert content["members"] == {EMPLOYEE: ["admin"], OTHER_EMPLOYEE: ["it"]}
    assert content["issuers"] == []  # no eid_staff_ca_file: no card signs staff in
    assert content["expires_at"] - content["issued_at"] == 8 * 24 * 3600 * 1000
    assert list(document["content"]["members"]) == [EMPLOYEE, OTHER_EMPLOYEE]  # sorted


def test_the_staff_list_does_not_verify_for_another_deployment(
    tmp_path: Path, pki: PkiLayout, foreign_pki: PkiLayout
) -> None:
    document = signed_staff_list(signing_settings(tmp_path, pki), {EMPLOYEE: ["admin"]})
    with pytest.raises(SignatureRefused):
        verify_document(document, STAFF_LIST_PURPOSE, chain_of(foreign_pki))


def test_the_same_members_sign_to_the_same_list(tmp_path: Path, pki: PkiLayout) -> None:
    settings = signing_settings(tmp_path, pki)
    assert signed_staff_list(settings, {EMPLOYEE: ["admin"]}) == signed_staff_list(settings, {EMPLOYEE: ["admin"]})


def test_a_key_that_is_not_the_certificates_is_a_trust_error(tmp_path: Path, pki: PkiLayout) -> None:
    settings = signing_settings(tmp_path, pki, mqtt_key_file=pki.device("ange").key_file)
    with pytest.raises(TrustError, match="is not the EC key of"):
        signed_staff_list(settings, {EMPLOYEE: ["admin"]})


def test_an_unreadable_key_or_certificate_is_a_trust_error(tmp_path: Path, pki: PkiLayout) -> None:
    with pytest.raises(TrustError, match="signing key or certificate cannot be read"):
        signed_staff_list(signing_settings(tmp_path, pki, mqtt_key_file=tmp_path / "none.key"), {})
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate", encoding="ascii")
    with pytest.raises(TrustError, match="signing key or certificate cannot be read"):
        signed_staff_list(signing_settings(tmp_path, pki, mqtt_cert_file=garbage), {})


# --- the trust set -----------------------------------------------------------------------------------------


@pytest.fixture
def eid_settings(settings: HubSettings, pki: PkiLayout, ca_dir: Path) -> HubSettings:
    """Hub settings with the device PKI's chain, the hub's signing key and a test e-ID issuer."""
    return dataclasses.replace(
        settings,
        device_api_ca_file=pki.chain,
        mqtt_cert_file=pki.hub_client.cert_file,
        mqtt_key_file=pki.hub_client.key_file,
        eid_ca_file=layout(ca_dir).chain,
        eid_crl_dir=layout(ca_dir).crl_dir,
    )


def trust_content(settings: HubSettings) -> dict[str, Any]:
    engine, factory = fresh_sessions(settings.database_url)
    try:
        with unit_of_work(factory, write=False) as session:
            body = build_bodies(settings, session)["trust"]
    finally:
        engine.dispose()
    return dict(codec.decode(body, max_size=1 << 24)["content"])


def publish(settings: HubSettings) -> dict[str, tuple[int, bool]]:
    engine = make_engine(settings.database_url)
    try:
        return {
            item.name: (item.version, item.changed)
            for item in publish_sets(settings, engine, actor="test", announce=False)
        }
    finally:
        engine.dispose()


def give_card(settings: HubSettings, username: str, employee_id: str | None, *roles: Role) -> None:
    engine, factory = fresh_sessions(settings.database_url)
    try:
        with unit_of_work(factory) as session:
            if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is None:
                add_staff(session, username, *roles)
            set_employee_id(session, username=username, employee_id=employee_id, actor="test")
    finally:
        engine.dispose()


def test_the_trust_set_carries_the_eid_issuers_their_lists_and_a_verifiable_staff_list(
    eid_settings: HubSettings, ca_dir: Path
) -> None:
    """SEC-12: a kiosk verifies the staff list with the trust set's own CA chain; SEC-14: the list holds employee
    ids and roles, no person. Without the e-ID settings and the hub's key, the e-ID part is empty and unsigned
    material is never put in place of the staff list."""
    give_card(eid_settings, "anna", EMPLOYEE, Role.ADMIN, Role.STAFF)
    content = trust_content(eid_settings)
    assert set(content) == {"ca_chain", "revoked_devices", "eid", "staff"}
    assert content["eid"]["certificates"] == list(read_eid_certificates(layout(ca_dir).chain))
    crls = [x509.load_pem_x509_crl(text.encode()) for text in content["eid"]["crls"]]
    assert [held.issuer for held in crls] == [
        pem.read_cert(layout(ca_dir).issuing_cert).subject,
        pem.read_cert(layout(ca_dir).root_cert).subject,
    ]
    anchors = [x509.load_pem_x509_certificate(block.encode()) for block in content["ca_chain"]]
    staff = verify_document(content["staff"], STAFF_LIST_PURPOSE, anchors)
    assert staff["members"] == {EMPLOYEE: ["admin", "staff"]}
    assert find_personnummer(json.dumps(staff)) == []
    bare = dataclasses.replace(eid_settings, eid_ca_file=None, eid_crl_dir=None, mqtt_key_file=None)
    content = trust_content(bare)
    assert content["eid"] == {"certificates": [], "crls": []} and "staff" not in content


def test_republishing_unchanged_material_makes_no_new_trust_version(
    eid_settings: HubSettings, ca_dir: Path, tmp_path: Path
) -> None:
    """Deterministic bytes (canonical JSON, RFC 6979 signatures): kiosks fetch a new set only when it changed,
    that is when a card id or an issuer's list changes. A broken e-ID file stops the publication (SEC-12)."""
    give_card(eid_settings, "anna", EMPLOYEE, Role.ADMIN)
    assert publish(eid_settings)["trust"] == (1, True)
    assert publish(eid_settings)["trust"] == (1, False)
    give_card(eid_settings, "anna", OTHER_EMPLOYEE)
    assert publish(eid_settings)["trust"] == (2, True)
    card = issuer.issue_card(ca_dir, tmp_path / "b.json", name="Bertil Berg", personnummer=ANNA, pin="123456")
    issuer.revoke_card(ca_dir, card.path)
    assert publish(eid_settings)["trust"] == (3, True)
    assert publish(eid_settings)["trust"] == (3, False)
    broken = tmp_path / "issuers.pem"
    broken.write_text("nothing", encoding="ascii")
    for bad in (
        dataclasses.replace(eid_settings, eid_ca_file=broken),
        dataclasses.replace(eid_settings, eid_crl_dir=broken),
    ):
        with pytest.raises(TrustError):
            publish(bad)
    engine, factory = fresh_sessions(eid_settings.database_url)
    with unit_of_work(factory, write=False) as session:
        row = find_version(session, "trust")
    engine.dispose()
    assert row is not None and row.version == 3
    newest = codec.decode(row.body, max_size=1 << 24)["content"]["eid"]["crls"][0]
    assert x509.load_pem_x509_crl(newest.encode()).get_revoked_certificate_by_serial_number(card.serial) is not None


# --- fetching lists from the issuers -----------------------------------------------------------------------


class CrlServer:
    """A real HTTP server on 127.0.0.1 serving ``routes`` (path → bytes); anything else is a 404."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {}
        routes = self.routes

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                body = routes.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/pkix-crl")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # the base class's name
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), name="crl-server", daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def serve(self, path: str, body: bytes) -> str:
        self.routes[path] = body
        return self.url(path)


@pytest.fixture
def crl_server() -> Iterator[CrlServer]:
    server = CrlServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()
        server.thread.join(timeout=5)


def issuing_crl(directory: Path) -> bytes:
    return (layout(directory).crl_dir / "issuing.crl").read_bytes()


def test_a_genuine_newer_list_is_stored_under_its_issuers_name(
    ca_dir: Path, tmp_path: Path, crl_server: CrlServer
) -> None:
    url = crl_server.serve("/issuing.crl", issuing_crl(ca_dir))
    folder = tmp_path / "eid-crl"
    results = refresh_crls([url], layout(ca_dir).chain, folder)
    next_update = x509.load_pem_x509_crl(issuing_crl(ca_dir)).next_update_utc
    assert results == [CrlRefresh(url, "stored", f"next update {next_update:%Y-%m-%d %H:%M} UTC")]
    stored = folder / crl_file_name(pem.read_cert(layout(ca_dir).issuing_cert))
    assert stored.read_bytes() == issuing_crl(ca_dir)
    assert stored.stat().st_mode & 0o777 == 0o644
    assert [path.name for path in folder.iterdir()] == [stored.name]  # no temporary file left
    assert read_eid_crls(folder) == (issuing_crl(ca_dir).decode(),)


def test_a_der_list_is_stored_as_pem(ca_dir: Path, tmp_path: Path, crl_server: CrlServer) -> None:
    url = crl_server.serve("/issuing.der", as_der(issuing_crl(ca_dir)))
    folder = tmp_path / "eid-crl"
    assert refresh_crls([url], layout(ca_dir).chain, folder)[0].outcome == "stored"
    assert (folder / crl_file_name(pem.read_cert(layout(ca_dir).issuing_cert))).read_bytes() == issuing_crl(ca_dir)


def test_the_same_or_an_older_list_is_current_and_leaves_the_held_one(
    ca_dir: Path, tmp_path: Path, crl_server: CrlServer
) -> None:
    now = dt.datetime.now(dt.UTC)
    issuer.write_crls(ca_dir, now=now - dt.timedelta(hours=2))
    older = issuing_crl(ca_dir)
    issuer.write_crls(ca_dir, now=now)
    newer = issuing_crl(ca_dir)
    folder = tmp_path / "eid-crl"
    url = crl_server.serve("/issuing.crl", newer)
    assert refresh_crls([url], layout(ca_dir).chain, folder)[0].outcome == "stored"
    assert refresh_crls([url], layout(ca_dir).chain, folder) == [CrlRefresh(url, "current")]
    crl_server.serve("/issuing.crl", older)
    assert refresh_crls([url], layout(ca_dir).chain, folder) == [CrlRefresh(url, "current")]
    assert (folder / crl_file_name(pem.read_cert(layout(ca_dir).issuing_cert))).read_bytes() == newer


def test_a_newer_list_replaces_the_held_one(ca_dir: Path, tmp_path: Path, crl_server: CrlServer) -> None:
    """A card revoked at the issuer reaches the hub's folder on the next refresh."""
    folder = tmp_path / "eid-crl"
    url = crl_server.serve("/issuing.crl", issuing_crl(ca_dir))
    refresh_crls([url], layout(ca_dir).chain, folder)
    card = issuer.issue_card(ca_dir, tmp_path / "b.json", name="Bertil Berg", personnummer=ANNA, pin="123456")
    issuer.revoke_card(ca_dir, card.path, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    crl_server.serve("/issuing.crl", issuing_crl(ca_dir))
    assert refresh_crls([url], layout(ca_dir).chain, folder)[0].outcome == "stored"
    held = x509.load_pem_x509_crl((folder / crl_file_name(pem.read_cert(layout(ca_dir).issuing_cert))).read_bytes())
    assert held.get_revoked_certificate_by_serial_number(card.serial) is not None


def test_the_root_and_card_ca_lists_go_to_files_of_their_own(
    ca_dir: Path, tmp_path: Path, crl_server: CrlServer
) -> None:
    urls = [
        crl_server.serve("/root.crl", (layout(ca_dir).crl_dir / "root.crl").read_bytes()),
        crl_server.serve("/issuing.crl", issuing_crl(ca_dir)),
    ]
    folder = tmp_path / "eid-crl"
    assert [result.outcome for result in refresh_crls(urls, layout(ca_dir).chain, folder)] == ["stored", "stored"]
    root, issuing = pem.read_cert(layout(ca_dir).root_cert), pem.read_cert(layout(ca_dir).issuing_cert)
    assert sorted(path.name for path in folder.iterdir()) == sorted([crl_file_name(root), crl_file_name(issuing)])


def test_crl_file_names_are_stable_per_issuer(shared_ca: Path, ca_dir: Path) -> None:
    root, issuing = pem.read_cert(layout(shared_ca).root_cert), pem.read_cert(layout(shared_ca).issuing_cert)
    assert crl_file_name(issuing) == crl_file_name(pem.read_cert(layout(shared_ca).issuing_cert))
    assert crl_file_name(root) != crl_file_name(issuing)
    name = crl_file_name(issuing)
    assert name.startswith("issuer-") and name.endswith(".crl") and len(name) == len("issuer-") + 16 + 4


def failed(result: CrlRefresh, url: str, detail: str) -> None:
    assert (result.url, result.outcome) == (url, "failed"), result
    assert detail in result.detail, result.detail


def test_a_missing_list_fails_and_keeps_the_held_one(ca_dir: Path, tmp_path: Path, crl_server: CrlServer) -> None:
    """SEC-12: a failed fetch keeps the last good list."""
    folder = tmp_path / "eid-crl"
    url = crl_server.serve("/issuing.crl", issuing_crl(ca_dir))
    refresh_crls([url], layout(ca_dir).chain, folder)
    held = {path.name: path.read_bytes() for path in folder.iterdir()}
    del crl_server.routes["/issuing.crl"]
    [result] = refresh_crls([url], layout(ca_dir).chain, folder)
    failed(result, url, "404")
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == held


@pytest.mark.parametrize(
    "body", [b"", b"<html>Not here</html>", b"-----BEGIN X509 CRL-----\nQUJD\n-----END X509 CRL-----\n"]
)
def test_a_body_that_is_not_a_crl_fails(ca_dir: Path, tmp_path: Path, crl_server: CrlServer, body: bytes) -> None:
    url = crl_server.serve("/issuing.crl", body)
    [result] = refresh_crls([url], layout(ca_dir).chain, tmp_path / "eid-crl")
    failed(result, url, "did not return an X.509 CRL")
    assert list((tmp_path / "eid-crl").iterdir()) == []


@pytest.mark.parametrize("organisation", ["Tinget Test e-ID", "Okänd utfärdare"], ids=["same-names", "other-names"])
def test_a_list_signed_by_a_ca_not_in_the_ca_file_fails(
    ca_dir: Path, tmp_path: Path, crl_server: CrlServer, organisation: str
) -> None:
    """SEC-12: an impostor issuer, even one with the very same names, cannot put a list in the hub's folder."""
    impostor = tmp_path / "impostor"
    issuer.ensure_test_ca(impostor, organisation=organisation)
    url = crl_server.serve("/issuing.crl", issuing_crl(impostor))
    [result] = refresh_crls([url], layout(ca_dir).chain, tmp_path / "eid-crl")
    failed(result, url, f"is not signed by a CA in {layout(ca_dir).chain}")
    assert list((tmp_path / "eid-crl").iterdir()) == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/issuing.crl", "issuing.crl", "data:,x"])
def test_an_address_that_is_not_http_fails_without_being_opened(ca_dir: Path, tmp_path: Path, url: str) -> None:
    [result] = refresh_crls([url], layout(ca_dir).chain, tmp_path / "eid-crl")
    failed(result, url, "is not an http(s) address")


def test_an_issuer_that_does_not_answer_fails(ca_dir: Path, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/issuing.crl"
    [result] = refresh_crls([url], layout(ca_dir).chain, tmp_path / "eid-crl", timeout=5)
    failed(result, url, f"cannot fetch {url}")


def test_an_oversize_list_fails(
    ca_dir: Path, tmp_path: Path, crl_server: CrlServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(revocation, "MAX_CRL_BYTES", 100)
    url = crl_server.serve("/issuing.crl", issuing_crl(ca_dir))
    [result] = refresh_crls([url], layout(ca_dir).chain, tmp_path / "eid-crl")
    failed(result, url, "is larger than 100 bytes")


def test_one_failure_does_not_stop_the_other_addresses(ca_dir: Path, tmp_path: Path, crl_server: CrlServer) -> None:
    good = crl_server.serve("/issuing.crl", issuing_crl(ca_dir))
    missing = crl_server.url("/gone.crl")
    root = crl_server.serve("/root.crl", (layout(ca_dir).crl_dir / "root.crl").read_bytes())
    results = refresh_crls([good, missing, root], layout(ca_dir).chain, tmp_path / "eid-crl")
    assert [(result.url, result.outcome) for result in results] == [
        (good, "stored"),
        (missing, "failed"),
        (root, "stored"),
    ]


def test_an_unreadable_ca_file_stops_the_refresh(tmp_path: Path) -> None:
    with pytest.raises(TrustError, match="e-ID CA file"):
        refresh_crls(["http://127.0.0.1/x.crl"], tmp_path / "none.pem", tmp_path / "eid-crl")
    empty = tmp_path / "empty.pem"
    empty.write_text("", encoding="ascii")
    with pytest.raises(TrustError, match="e-ID CA file"):
        refresh_crls(["http://127.0.0.1/x.crl"], empty, tmp_path / "eid-crl")


# --- the commands ------------------------------------------------------------------------------------------


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def config_with(folder: Path, urls: list[str] | None = None, **values: Any) -> Path:
    """A settings file; ``urls`` become ``eid_crl_urls`` (a TOML list, which `write_config` does not write)."""
    path = write_config(folder, **values)
    if urls is not None:
        with path.open("a", encoding="utf-8") as out:
            out.write(f"eid_crl_urls = {json.dumps(urls)}\n")
    return path


def test_user_card_needs_either_an_employee_id_or_remove(tmp_path: Path) -> None:
    """A usage error (exit 2) before anything is opened."""
    config = config_with(tmp_path, database_url=f"sqlite:///{tmp_path / 'none.db'}")
    for args in (("anna", EMPLOYEE, "--remove"), ("anna",)):
        result = run("hub", "user", "card", *args, "--config", config)
        assert result.exit_code == 2 and "give either EMPLOYEE_ID or --remove" in result.output
    assert not (tmp_path / "none.db").exists()


def test_user_card_sets_and_removes_the_employee_id_and_mistakes_get_one_line(
    settings: HubSettings, tmp_path: Path
) -> None:
    """`tinget hub user card`: what the member's card is now, that kiosks learn of it at the next publish, and
    one line with exit 1 for an invalid id (not repeated), an id on another account or an unknown account."""
    engine, factory = fresh_sessions(settings.database_url)
    with unit_of_work(factory) as session:
        add_staff(session, "anna", Role.ADMIN)
        add_staff(session, "bertil")
        set_employee_id(session, username="bertil", employee_id=OTHER_EMPLOYEE, actor="test")
    engine.dispose()
    config = config_with(tmp_path, database_url=settings.database_url)
    given = run("hub", "user", "card", "anna", EMPLOYEE, "--config", config)
    assert given.exit_code == 0, given.output
    assert given.output.splitlines() == [
        f"anna har nu tjänstekortet {EMPLOYEE}.",
        "Kioskerna får ändringen vid nästa `tinget hub sets publish`.",
    ]
    removed = run("hub", "user", "card", "anna", "--remove", "--config", config)
    assert removed.exit_code == 0, removed.output
    assert removed.output.splitlines()[0] == "anna har inget tjänstekort längre."

    bad = run("hub", "user", "card", "anna", "SE12-x", "--config", config)
    taken = run("hub", "user", "card", "anna", OTHER_EMPLOYEE, "--config", config)
    nobody = run("hub", "user", "card", "nobody", EMPLOYEE, "--config", config)
    assert [result.exit_code for result in (bad, taken, nobody)] == [1, 1, 1]
    assert [result.output.strip() for result in (bad, taken, nobody)] == [
        "tinget: cannot change 'anna': an employee id is written like SE2321000255-abc123 "
        "(SE, the organisation number, '-', id)",
        "tinget: cannot change 'anna': the employee id is already on the account 'bertil'",
        "tinget: cannot change 'nobody': there is no account named 'nobody'",
    ]
    assert "SE12-x" not in bad.output

    engine, factory = fresh_sessions(settings.database_url)
    with unit_of_work(factory, write=False) as session:
        rows = [row for row in audit_rows(session, "staff.employee_id") if row.subject == "anna"]
    engine.dispose()
    assert [row.action for row in rows] == ["staff.employee_id_set", "staff.employee_id_removed"]
    assert all(row.actor.startswith("cli") for row in rows)


def test_refresh_crls_needs_the_eid_settings(tmp_path: Path, ca_dir: Path) -> None:
    for values in (
        {},
        {"eid_ca_file": layout(ca_dir).chain},
        {"eid_ca_file": layout(ca_dir).chain, "eid_crl_dir": tmp_path},
    ):
        config = config_with(tmp_path, **values)
        result = run("hub", "sets", "refresh-crls", "--no-publish", "--config", config)
        assert result.exit_code == 2
        assert result.output.strip() == "tinget: set eid_ca_file, eid_crl_dir and eid_crl_urls first (docs/eid.md)"


def test_refresh_crls_prints_one_line_per_address(ca_dir: Path, tmp_path: Path, crl_server: CrlServer) -> None:
    urls = [
        crl_server.serve("/root.crl", (layout(ca_dir).crl_dir / "root.crl").read_bytes()),
        crl_server.serve("/issuing.crl", issuing_crl(ca_dir)),
    ]
    folder = tmp_path / "eid-crl"
    config = config_with(tmp_path, urls, eid_ca_file=layout(ca_dir).chain, eid_crl_dir=folder)
    first = run("hub", "sets", "refresh-crls", "--no-publish", "--config", config)
    assert first.exit_code == 0, first.output
    next_update = x509.load_pem_x509_crl(issuing_crl(ca_dir)).next_update_utc
    assert first.output.splitlines() == [
        f"stored   {url}  next update {next_update:%Y-%m-%d %H:%M} UTC" for url in urls
    ]
    again = run("hub", "sets", "refresh-crls", "--no-publish", "--config", config)
    assert again.exit_code == 0 and again.output.splitlines() == [f"current  {url}" for url in urls]


def test_refresh_crls_exits_non_zero_when_an_address_fails(ca_dir: Path, tmp_path: Path, crl_server: CrlServer) -> None:
    """The timer's journal shows which list failed; the others are still stored."""
    good = crl_server.serve("/issuing.crl", issuing_crl(ca_dir))
    missing = crl_server.url("/gone.crl")
    folder = tmp_path / "eid-crl"
    config = config_with(tmp_path, [good, missing], eid_ca_file=layout(ca_dir).chain, eid_crl_dir=folder)
    result = run("hub", "sets", "refresh-crls", "--no-publish", "--config", config)
    assert result.exit_code == 1
    output = result.output.splitlines()
    assert output[0].startswith(f"stored   {good}")
    assert output[1].startswith(f"failed   {missing}  cannot fetch {missing}") and "404" in output[1]
    assert output[2] == "tinget: some revocation lists could not be fetched; the kiosks keep the last good ones"
    assert len(list(folder.iterdir())) == 1


def test_refresh_crls_with_an_unreadable_ca_file_is_one_line(tmp_path: Path) -> None:
    config = config_with(tmp_path, ["http://127.0.0.1/x.crl"], eid_ca_file=tmp_path / "none.pem", eid_crl_dir=tmp_path)
    result = run("hub", "sets", "refresh-crls", "--config", config)
    assert result.exit_code == 1
    assert result.output.startswith(f"tinget: e-ID CA file {tmp_path / 'none.pem'} cannot be read")
    assert len(result.output.strip().splitlines()) == 1


def test_refresh_crls_then_publishes_the_trust_set_with_the_fetched_list(
    settings: HubSettings,
    pki: PkiLayout,
    ca_dir: Path,
    tmp_path: Path,
    crl_server: CrlServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without --no-publish the new list goes into a stored trust set version (the broker here does not answer,
    so the command says the versions are stored but not announced)."""
    monkeypatch.setattr(announcer, "ANNOUNCE_TIMEOUT_SECONDS", 0.2)
    url = crl_server.serve("/issuing.crl", issuing_crl(ca_dir))
    folder = tmp_path / "eid-crl"
    config = config_with(
        tmp_path,
        [url],
        database_url=settings.database_url,
        eid_ca_file=layout(ca_dir).chain,
        eid_crl_dir=folder,
        mqtt_ca_file=pki.chain,
        mqtt_cert_file=pki.hub_client.cert_file,
        mqtt_key_file=pki.hub_client.key_file,
    )
    result = run("hub", "sets", "refresh-crls", "--config", config)
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[0].startswith(f"stored   {url}")
    assert "the new versions are stored, but not announced" in result.output
    engine, factory = fresh_sessions(settings.database_url)
    with unit_of_work(factory, write=False) as session:
        row = find_version(session, "trust")
    engine.dispose()
    assert row is not None
    assert codec.decode(row.body, max_size=1 << 24)["content"]["eid"]["crls"] == [issuing_crl(ca_dir).decode()]


# --- card events in the audit log --------------------------------------------------------------------------


def context(body: dict[str, Any], device: str = "ange", msg_id: str | None = None) -> ActionContext:
    return ActionContext(device, msg_id or messages.new_message_id(), "card-event", messages.now_ms(), body)


REFUSED_REVOKED = {"event": "signin-refused", "reason": "revoked", "holder_kind": "resident", "roles": []}
STAFF_SIGNED_IN = {"event": "staff-signed-in", "reason": None, "holder_kind": "staff", "roles": ["staff", "admin"]}


def test_the_card_event_handler_is_registered_for_the_ingest() -> None:
    assert default_handlers().find("card-event") is record_card_event
    assert "card-event" in list(default_handlers())
    assert EVENTS == {"signin-refused": "kiosk.card_refused", "staff-signed-in": "kiosk.staff_signed_in"}


def test_a_refused_card_and_a_staff_sign_in_are_audited_with_the_reason_and_the_kiosk(sessions: Any) -> None:
    """SEC-16: the audit log says what happened at which kiosk and why; SEC-14: never who."""
    handler = default_handlers().find("card-event")
    assert handler is not None
    refused_ctx, staff_ctx = context(REFUSED_REVOKED), context(STAFF_SIGNED_IN, device="follinge")
    with unit_of_work(sessions) as session:
        handler(session, refused_ctx)
        handler(session, staff_ctx)
        for reason in RefusalReason:  # every reason a kiosk may give, also for a card that named nobody
            handler(session, context({**REFUSED_REVOKED, "reason": str(reason), "holder_kind": None}))
    with unit_of_work(sessions, write=False) as session:
        rows = audit_rows(session, "kiosk.")
        assert audit_log.verify_chain(session).ok
    assert [json.loads(row.details)["reason"] for row in rows[2:]] == [str(reason) for reason in RefusalReason]
    rows = rows[:2]
    assert [(row.actor, row.action, row.subject) for row in rows] == [
        ("device:ange", "kiosk.card_refused", "ange"),
        ("device:follinge", "kiosk.staff_signed_in", "follinge"),
    ]
    assert json.loads(rows[0].details) == {
        "reason": "revoked",
        "holder_kind": "resident",
        "roles": [],
        "msg_id": refused_ctx.msg_id,
    }
    assert json.loads(rows[1].details) == {
        "reason": None,
        "holder_kind": "staff",
        "roles": ["admin", "staff"],
        "msg_id": staff_ctx.msg_id,
    }


BAD_BODIES: dict[str, dict[str, Any]] = {
    "personnummer": {**REFUSED_REVOKED, "personnummer": "198504122386"},
    "name": {**REFUSED_REVOKED, "name": "Anna Andersson"},
    "missing-roles": {key: value for key, value in REFUSED_REVOKED.items() if key != "roles"},
    "empty": {},
    "unknown-event": {**REFUSED_REVOKED, "event": "card-stolen"},
    "unknown-reason": {**REFUSED_REVOKED, "reason": "bad-vibes"},
    "reason-case": {**REFUSED_REVOKED, "reason": "REVOKED"},
    "unknown-holder": {**REFUSED_REVOKED, "holder_kind": "alien"},
    "unknown-role": {**STAFF_SIGNED_IN, "roles": ["admin", "root"]},
    "roles-text": {**STAFF_SIGNED_IN, "roles": "admin"},
    "roles-null": {**STAFF_SIGNED_IN, "roles": None},
    "event-list": {**REFUSED_REVOKED, "event": ["signin-refused"]},
    "event-object": {**REFUSED_REVOKED, "event": {"signin-refused": 1}},
    "reason-list": {**REFUSED_REVOKED, "reason": ["revoked"]},
    "holder-object": {**REFUSED_REVOKED, "holder_kind": {"kind": "staff"}},
    "role-object": {**STAFF_SIGNED_IN, "roles": [{"role": "admin"}]},
    "role-list": {**STAFF_SIGNED_IN, "roles": [["admin"]]},
    "event-number": {**REFUSED_REVOKED, "event": 1},
}


class UntouchedSession:
    """A fake session for bodies that must be refused before anything is written: any use fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a refused card event must not touch the database (it used session.{name})")


@pytest.mark.parametrize("name", list(BAD_BODIES), ids=list(BAD_BODIES))
def test_a_card_event_that_is_not_exactly_one_is_refused_before_anything_is_written(name: str) -> None:
    """SEC-14, SEC-19: anything more (a personnummer, a name), anything missing or unknown, or a value of the
    wrong type is refused with a reason (ActionRefused, never another exception); nothing is written."""
    with pytest.raises(ActionRefused) as refused:
        record_card_event(UntouchedSession(), context(BAD_BODIES[name]))  # type: ignore[arg-type]
    assert str(refused.value) and find_personnummer(str(refused.value)) == []


def test_the_ingest_records_good_card_events_and_refuses_bad_ones_in_the_same_batch(sessions: Any) -> None:
    """SEC-19: through the real ingest path, a refused event is kept as refused and stops nothing else;
    SEC-14: the audit log holds no personnummer."""
    actions = [
        messages.Action(msg_id=messages.new_message_id(), kind="card-event", created_at=messages.now_ms(), body=body)
        for body in (REFUSED_REVOKED, BAD_BODIES["personnummer"], BAD_BODIES["unknown-reason"], STAFF_SIGNED_IN)
    ]
    batch = messages.ActionBatch.create(sender="ange", actions=tuple(actions))
    item = Incoming(topics.device_up("ange", messages.ActionBatch.KIND), messages.to_payload(batch))
    with unit_of_work(sessions) as session:
        outcome = record_group(session, [item], utcnow(), default_handlers())
    assert outcome.new_actions == 4 and outcome.dead_letters == 0
    with unit_of_work(sessions, write=False) as session:
        statuses = [find_received(session, "ange", action.msg_id) for action in actions]
        rows = audit_rows(session, "kiosk.")
        assert audit_log.verify_chain(session).ok
        all_details = " ".join(row.details for row in session.scalars(select(AuditEntryRow)))
    assert [row.status if row else None for row in statuses] == [ACCEPTED, REFUSED, REFUSED, ACCEPTED]
    assert statuses[1] is not None and statuses[1].reason == (
        "a card event has exactly the fields event, reason, holder_kind and roles"
    )
    assert statuses[2] is not None and statuses[2].reason.startswith("unknown refusal reason")
    assert "bad-vibes" not in statuses[2].reason  # a refused value is never repeated (it could be anything)
    assert [row.action for row in rows] == ["kiosk.card_refused", "kiosk.staff_signed_in"]
    assert find_personnummer(all_details) == []
