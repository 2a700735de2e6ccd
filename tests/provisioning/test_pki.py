"""The certificate authority: chains that verify, identities in the CN, private keys kept private."""

from __future__ import annotations

import datetime as dt
import shutil
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from provisioning import pem
from provisioning.certificates import common_name, san_names
from provisioning.pki import (
    PkiError,
    PkiLayout,
    active_devices,
    enrolled_devices,
    ensure_device,
    ensure_pki,
    revoke_device,
    revoked_devices,
)


def _verify_client(layout: PkiLayout, cert_file: Path, roots: Path | None = None) -> None:
    store = Store([pem.read_cert(roots or layout.root_ca.cert_file)])
    verifier = PolicyBuilder().store(store).build_client_verifier()
    verifier.verify(pem.read_cert(cert_file), [pem.read_cert(layout.issuing_ca.cert_file)])


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_device_certificate_chains_to_the_root_through_the_issuing_ca(pki: PkiLayout) -> None:
    """SEC-17: the broker trusts a kiosk only through our chain; the CN is the device id it acts as."""
    device = pki.device("ange")
    _verify_client(pki, device.cert_file)
    cert = pem.read_cert(device.cert_file)
    assert common_name(cert) == "ange"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["urn:tinget:device:ange"]
    assert cert.issuer == pem.read_cert(pki.issuing_ca.cert_file).subject
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_a_device_certificate_from_another_ca_does_not_verify(pki: PkiLayout, foreign_pki: PkiLayout) -> None:
    store = Store([pem.read_cert(pki.root_ca.cert_file)])
    verifier = PolicyBuilder().store(store).build_client_verifier()
    foreign = foreign_pki.device("ange")
    with pytest.raises(VerificationError):
        verifier.verify(pem.read_cert(foreign.cert_file), [pem.read_cert(foreign_pki.issuing_ca.cert_file)])


def test_the_chain_file_holds_the_issuing_ca_then_the_root(pki: PkiLayout) -> None:
    chain = x509.load_pem_x509_certificates(pki.chain.read_bytes())
    assert [common_name(cert) for cert in chain] == ["Tinget issuing CA", "Tinget root CA"]
    root = chain[1]
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 1
    assert chain[0].extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0


def test_the_hub_client_certificate_is_named_hub(pki: PkiLayout) -> None:
    _verify_client(pki, pki.hub_client.cert_file)
    assert common_name(pem.read_cert(pki.hub_client.cert_file)) == "hub"


def test_server_certificates_name_localhost_the_loopback_and_the_given_host(tmp_path: Path) -> None:
    ensure_pki(tmp_path, "tinget.krokom.se")
    layout = PkiLayout(tmp_path)
    for server in (layout.broker, layout.hub_web):
        cert = pem.read_cert(server.cert_file)
        assert {"localhost", "127.0.0.1", "tinget.krokom.se"} <= san_names(cert)
        store = Store([pem.read_cert(layout.root_ca.cert_file)])
        verifier = PolicyBuilder().store(store).build_server_verifier(x509.DNSName("tinget.krokom.se"))
        verifier.verify(cert, [pem.read_cert(layout.issuing_ca.cert_file)])


def test_private_keys_are_readable_by_their_owner_only_and_certificates_by_all(pki: PkiLayout) -> None:
    """SEC-20: secrets are files with tight permissions."""
    keys = sorted(pki.root.rglob("*.key"))
    assert len(keys) == 8  # root, issuing, broker, hub web, hub client, three devices
    assert {_mode(key) for key in keys} == {0o600}
    assert {_mode(cert) for cert in pki.root.rglob("*.pem")} == {0o644}


def test_every_key_is_ec_p256(pki: PkiLayout) -> None:
    for key_file in pki.root.rglob("*.key"):
        assert pem.read_key(key_file).curve.name == "secp256r1"


def test_running_pki_again_reuses_everything_and_overwrites_nothing(tmp_path: Path) -> None:
    first = ensure_pki(tmp_path)
    ensure_device(tmp_path, "ange")
    before = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    again = ensure_pki(tmp_path)
    step = ensure_device(tmp_path, "ange")
    assert [s.action for s in first] == ["created"] * 5
    assert [s.action for s in again] == ["reused"] * 5
    assert step.action == "reused"
    assert {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()} == before


def test_a_run_interrupted_after_writing_a_key_is_finished_with_that_key(tmp_path: Path) -> None:
    ensure_pki(tmp_path)
    layout = PkiLayout(tmp_path)
    key_before = layout.hub_client.key_file.read_bytes()
    layout.hub_client.cert_file.unlink()
    steps = {step.what: step.action for step in ensure_pki(tmp_path)}
    assert steps["hub client"] == "created"
    assert layout.hub_client.key_file.read_bytes() == key_before
    cert = pem.read_cert(layout.hub_client.cert_file)
    assert cert.public_key() == pem.read_key(layout.hub_client.key_file).public_key()


def test_a_certificate_whose_key_is_gone_is_reported_not_replaced(tmp_path: Path) -> None:
    ensure_pki(tmp_path)
    layout = PkiLayout(tmp_path)
    layout.broker.key_file.unlink()
    with pytest.raises(PkiError, match=r"key .* is missing"):
        ensure_pki(tmp_path)


def test_the_root_key_may_be_offline_once_the_issuing_ca_exists(tmp_path: Path) -> None:
    ensure_pki(tmp_path)
    layout = PkiLayout(tmp_path)
    layout.root_ca.key_file.unlink()  # moved to the offline safe
    assert {step.action for step in ensure_pki(tmp_path)} == {"reused"}
    assert ensure_device(tmp_path, "ange").action == "created"


def test_a_new_host_name_for_an_existing_server_certificate_is_refused_with_advice(tmp_path: Path) -> None:
    ensure_pki(tmp_path, "old.example")
    with pytest.raises(PkiError, match=r"new\.example"):
        ensure_pki(tmp_path, "new.example")


def test_device_certificates_are_short_lived_by_default_and_configurable(tmp_path: Path) -> None:
    ensure_pki(tmp_path)
    now = dt.datetime.now(dt.UTC)
    default = ensure_device(tmp_path, "ange", now=now)
    week = ensure_device(tmp_path, "follinge", days=7, now=now)
    assert default.not_after == (now + dt.timedelta(days=30)).replace(microsecond=0)
    assert week.not_after == (now + dt.timedelta(days=7)).replace(microsecond=0)


def test_renewing_a_device_issues_a_new_certificate_for_the_same_key(tmp_path: Path) -> None:
    ensure_pki(tmp_path)
    ensure_device(tmp_path, "ange")
    device = PkiLayout(tmp_path).device("ange")
    old_cert, old_key = pem.read_cert(device.cert_file), device.key_file.read_bytes()
    step = ensure_device(tmp_path, "ange", days=60, renew=True)
    new_cert = pem.read_cert(device.cert_file)
    assert step.action == "renewed"
    assert new_cert.serial_number != old_cert.serial_number
    assert device.key_file.read_bytes() == old_key
    assert new_cert.public_key() == old_cert.public_key()


@pytest.mark.parametrize("device_id", ["Änge", "ange/up", "+", "#", "", "a b", "hub", "broker", "-ange"])
def test_device_ids_that_are_not_safe_slugs_or_are_reserved_are_refused(tmp_path: Path, device_id: str) -> None:
    """SEC-17: a device id becomes an ACL user and a topic level: no wildcards, separators or `hub`."""
    ensure_pki(tmp_path)
    with pytest.raises(PkiError):
        ensure_device(tmp_path, device_id)
    assert enrolled_devices(tmp_path) == []


def test_a_device_cannot_be_issued_before_the_pki_exists(tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="tinget provision pki"):
        ensure_device(tmp_path, "ange")
    assert not any(tmp_path.iterdir())


def test_revoking_adds_the_device_to_the_list_once(tmp_path: Path, pki: PkiLayout) -> None:
    copy = tmp_path / "pki"
    shutil.copytree(pki.root, copy)
    assert revoke_device(copy, "ange") is True
    assert revoke_device(copy, "ange") is False
    revoked = revoked_devices(copy)
    assert set(revoked) == {"ange", "revoked-one"}
    assert revoked["ange"]["serial"] == format(pem.read_cert(pki.device("ange").cert_file).serial_number, "x")
    assert active_devices(copy) == ["follinge"]
    assert enrolled_devices(copy) == ["ange", "follinge", "revoked-one"]


def test_revoking_an_unknown_device_is_refused_so_a_typo_is_not_mistaken_for_a_cut_off(
    pki: PkiLayout,
) -> None:
    with pytest.raises(PkiError, match="not enrolled"):
        revoke_device(pki.root, "follnge")


def test_a_revoked_device_id_is_never_issued_again(pki: PkiLayout) -> None:
    with pytest.raises(PkiError, match="revoked"):
        ensure_device(pki.root, "revoked-one", renew=True)


def test_a_damaged_revocation_list_is_an_error_not_an_empty_list(tmp_path: Path) -> None:
    ensure_pki(tmp_path)
    PkiLayout(tmp_path).revoked_file.write_text("{not json")
    with pytest.raises(PkiError, match="revocation list"):
        revoked_devices(tmp_path)
