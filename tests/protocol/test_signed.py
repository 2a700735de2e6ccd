"""Hub-signed documents and offline path validation: what a kiosk accepts as the hub's word (SEC-12).

The signer is the hub's client certificate from the session's test PKI (`pki` fixture); the anchors are the
certificates of its chain file, as a kiosk holds them. A foreign CA (`foreign_pki`) plays the attacker.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from protocol import codec
from protocol.chain import ChainError, split_anchors, verify_chain
from protocol.eid import STAFF_LIST_PURPOSE
from protocol.signed import HUB_SIGNER_CN, SignatureRefused, sign_document, verify_document
from provisioning import pem
from provisioning.pki import Credential, PkiLayout

CONTENT: dict[str, Any] = {"members": {"SE2321000255-abc123": ["admin", "staff"], "SE2321000255-demo01": ["it"]}}
NOW = dt.datetime.now(dt.UTC)


def signer(credential: Credential) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    return pem.read_key(credential.key_file), pem.read_cert(credential.cert_file)


def anchors_of(layout: PkiLayout) -> list[x509.Certificate]:
    """The chain file's certificates: what a kiosk trusts for MQTT, HTTPS and signed documents."""
    return x509.load_pem_x509_certificates(layout.chain.read_bytes())


def signed_by(credential: Credential, content: dict[str, Any] = CONTENT, purpose: str = STAFF_LIST_PURPOSE) -> Any:
    key, cert = signer(credential)
    return sign_document(content, purpose, key, cert)


@pytest.fixture(scope="module")
def document(pki: PkiLayout) -> dict[str, Any]:
    """The staff list as the hub signs it."""
    return signed_by(pki.hub_client)


@pytest.fixture(scope="module")
def anchors(pki: PkiLayout) -> list[x509.Certificate]:
    return anchors_of(pki)


def refused(document: Any, anchors: list[x509.Certificate], match: str | None = None, **options: Any) -> None:
    with pytest.raises(SignatureRefused, match=match):
        verify_document(document, STAFF_LIST_PURPOSE, anchors, **options)


# --- round trip and determinism ----------------------------------------------------------------------------


def test_a_document_the_hub_signs_verifies_to_its_content(
    document: dict[str, Any], anchors: list[x509.Certificate]
) -> None:
    assert set(document) == {"content", "purpose", "signature", "signer"}
    assert document["purpose"] == STAFF_LIST_PURPOSE and document["signer"].startswith("-----BEGIN CERTIFICATE-----")
    assert verify_document(document, STAFF_LIST_PURPOSE, anchors) == CONTENT


def test_a_signed_document_survives_the_trip_through_the_canonical_codec(
    document: dict[str, Any], anchors: list[x509.Certificate]
) -> None:
    """The trust set carries it as canonical JSON; what the kiosk decodes still verifies."""
    carried = codec.decode(codec.encode({"staff": document}), max_size=1 << 20)["staff"]
    assert verify_document(carried, STAFF_LIST_PURPOSE, anchors) == CONTENT


def test_the_returned_content_is_a_copy(document: dict[str, Any], anchors: list[x509.Certificate]) -> None:
    content = verify_document(document, STAFF_LIST_PURPOSE, anchors)
    content["members"] = {}
    assert verify_document(document, STAFF_LIST_PURPOSE, anchors) == CONTENT


def test_the_same_content_signs_to_the_same_bytes(pki: PkiLayout, document: dict[str, Any]) -> None:
    """Deterministic ECDSA: republishing an unchanged staff list makes no new trust set version."""
    assert signed_by(pki.hub_client) == document
    reordered = {"members": dict(reversed(list(CONTENT["members"].items())))}
    assert signed_by(pki.hub_client, reordered)["signature"] == document["signature"]


def test_other_content_or_another_purpose_signs_to_other_bytes(pki: PkiLayout, document: dict[str, Any]) -> None:
    assert signed_by(pki.hub_client, {"members": {}})["signature"] != document["signature"]
    assert signed_by(pki.hub_client, purpose="tinget/other/v1")["signature"] != document["signature"]


def test_an_empty_staff_list_is_a_valid_document(pki: PkiLayout, anchors: list[x509.Certificate]) -> None:
    empty = signed_by(pki.hub_client, {"members": {}})
    assert verify_document(empty, STAFF_LIST_PURPOSE, anchors) == {"members": {}}


# --- tampering (SEC-12) ------------------------------------------------------------------------------------


def tampered(document: dict[str, Any], change: Any) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    change(copied)
    return copied


def flip_signature_byte(document: dict[str, Any]) -> None:
    raw = bytearray(base64.b64decode(document["signature"]))
    raw[len(raw) // 2] ^= 0x01
    document["signature"] = base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["content"]["members"]["SE2321000255-demo01"].append("admin"),
        lambda d: d["content"]["members"].update({"SE2321000255-evil": ["admin"]}),
        lambda d: d["content"]["members"].pop("SE2321000255-demo01"),
        lambda d: d["content"].update({"extra": True}),
        lambda d: d.update({"content": {"members": {}}}),
        flip_signature_byte,
        lambda d: d.update({"signature": base64.b64encode(base64.b64decode(d["signature"])[:-1]).decode()}),
        lambda d: d.update({"signature": ""}),
    ],
    ids=[
        "role-added",
        "member-added",
        "member-removed",
        "content-member-added",
        "content-replaced",
        "signature-byte-flipped",
        "signature-truncated",
        "signature-empty",
    ],
)
def test_a_tampered_document_is_refused(document: dict[str, Any], anchors: list[x509.Certificate], change: Any) -> None:
    """SEC-12: one changed role, member or signature byte and the whole list is refused."""
    refused(tampered(document, change), anchors, "signature does not match")


def test_a_document_signed_for_another_purpose_is_refused(pki: PkiLayout, anchors: list[x509.Certificate]) -> None:
    """SEC-12: a signature for another kind of document cannot be passed off as a staff list."""
    other = signed_by(pki.hub_client, purpose="tinget/other/v1")
    refused(other, anchors, "not signed for 'tinget/staff-list/v2'")
    relabelled = {**other, "purpose": STAFF_LIST_PURPOSE}
    refused(relabelled, anchors, "signature does not match")  # the purpose is part of what is signed


@pytest.mark.parametrize(
    "document",
    [
        None,
        "a document",
        ["content", "purpose", "signature", "signer"],
        {},
        {"content": {}, "purpose": STAFF_LIST_PURPOSE, "signature": ""},
    ],
    ids=["none", "text", "list", "empty", "no-signer"],
)
def test_what_is_not_a_signed_document_is_refused(document: Any, anchors: list[x509.Certificate]) -> None:
    """SEC-12, SEC-19: anything but the four-member object is refused, never another exception."""
    refused(document, anchors, "not a signed document")


@pytest.mark.parametrize("member", ["content", "purpose", "signature", "signer"])
def test_a_document_missing_a_member_is_refused(
    document: dict[str, Any], anchors: list[x509.Certificate], member: str
) -> None:
    """SEC-12: a document without its signature, signer, purpose or content counts for nothing."""
    refused({key: value for key, value in document.items() if key != member}, anchors, "not a signed document")


@pytest.mark.parametrize("member", ["roles", "version", "signed_at"])
def test_a_document_with_an_extra_member_is_refused(
    document: dict[str, Any], anchors: list[x509.Certificate], member: str
) -> None:
    """SEC-12: unsigned members cannot ride along on a signed document."""
    refused({**document, member: "anything"}, anchors, "not a signed document")


@pytest.mark.parametrize("content", [[], "members", None, 1])
def test_content_that_is_not_an_object_is_refused(
    document: dict[str, Any], anchors: list[x509.Certificate], content: Any
) -> None:
    """SEC-19: the content is a JSON object or the document is refused."""
    refused({**document, "content": content}, anchors, "not signed for")


@pytest.mark.parametrize(
    "signature",
    ["!!!not base64!!!", "QUJD\n", "QUJ", "åäö", "QUJD" + "=" * 4, 12345, None],
    ids=["punctuation", "newline", "bad-padding", "non-ascii", "extra-padding", "number", "null"],
)
def test_a_signature_that_is_not_strict_base64_is_refused(
    document: dict[str, Any], anchors: list[x509.Certificate], signature: Any
) -> None:
    """SEC-12, SEC-19: only strict base64 is decoded; anything else is a SignatureRefused."""
    with pytest.raises(SignatureRefused):
        verify_document({**document, "signature": signature}, STAFF_LIST_PURPOSE, anchors)


@pytest.mark.parametrize(
    "signer_pem",
    ["", "not a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "ärlig", None],
    ids=["empty", "text", "bad-der", "non-ascii", "null"],
)
def test_a_signer_that_is_not_a_certificate_is_refused(
    document: dict[str, Any], anchors: list[x509.Certificate], signer_pem: Any
) -> None:
    """SEC-12, SEC-19: an unreadable signer is refused, never another exception."""
    refused({**document, "signer": signer_pem}, anchors, "cannot be read")


# --- who signed (SEC-12) -----------------------------------------------------------------------------------


def test_a_device_of_the_same_pki_cannot_sign_as_the_hub(pki: PkiLayout, anchors: list[x509.Certificate]) -> None:
    """SEC-12: a kiosk's certificate chains to the same CA, but only CN 'hub' may sign the staff list."""
    by_device = signed_by(pki.device("ange"))
    refused(by_device, anchors, "not signed by 'hub'")
    assert verify_document(by_device, STAFF_LIST_PURPOSE, anchors, signer_cn="ange") == CONTENT  # only the CN


def test_the_hubs_certificate_with_another_key_is_refused(
    pki: PkiLayout, document: dict[str, Any], anchors: list[x509.Certificate]
) -> None:
    """A device key signing, with the hub's certificate attached: the signature does not match."""
    device_key = pem.read_key(pki.device("ange").key_file)
    forged = sign_document(CONTENT, STAFF_LIST_PURPOSE, device_key, pem.read_cert(pki.hub_client.cert_file))
    assert forged["signer"] == document["signer"]
    refused(forged, anchors, "signature does not match")


def test_a_hub_certificate_from_another_ca_is_refused(foreign_pki: PkiLayout, anchors: list[x509.Certificate]) -> None:
    """SEC-12: an attacker's own CA can issue a CN 'hub' certificate; it does not chain to the kiosk's anchors."""
    foreign = signed_by(foreign_pki.hub_client)
    refused(foreign, anchors, "does not chain to the trusted CA")
    assert verify_document(foreign, STAFF_LIST_PURPOSE, anchors_of(foreign_pki)) == CONTENT


def test_a_signer_outside_its_validity_is_refused(document: dict[str, Any], anchors: list[x509.Certificate]) -> None:
    """SEC-12, SEC-15: past the hub certificate's end, or before its start, the signature counts for nothing."""
    refused(document, anchors, "does not chain", now=dt.datetime(2200, 1, 1, tzinfo=dt.UTC))
    refused(document, anchors, "does not chain", now=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert verify_document(document, STAFF_LIST_PURPOSE, anchors, now=NOW + dt.timedelta(days=1)) == CONTENT


def test_without_the_root_among_the_anchors_nothing_verifies(
    pki: PkiLayout, document: dict[str, Any], anchors: list[x509.Certificate]
) -> None:
    """The issuing CA alone is not a trust anchor; no anchors at all trusts nothing."""
    issuing_only = [cert for cert in anchors if cert.subject != cert.issuer]
    refused(document, issuing_only, "does not chain")
    refused(document, [], "does not chain")


def test_an_rsa_signer_is_refused_even_when_it_chains(pki: PkiLayout, document: dict[str, Any]) -> None:
    """The format is ECDSA P-256: a CN 'hub' certificate with an RSA key from the right CA is still refused."""
    issuing_key, issuing = signer(pki.issuing_ca)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HUB_SIGNER_CN)]))
        .issuer_name(issuing.subject)
        .public_key(rsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(minutes=5))
        .not_valid_after(NOW + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(issuing_key, hashes.SHA256())
    )
    with_rsa = {**document, "signer": rsa_cert.public_bytes(serialization.Encoding.PEM).decode()}
    refused(with_rsa, anchors_of(pki), "not an EC key")


def test_a_signer_with_two_common_names_is_refused(pki: PkiLayout, document: dict[str, Any]) -> None:
    """'hub' plus another CN is not the hub."""
    issuing_key, issuing = signer(pki.issuing_ca)
    key, _ = signer(pki.hub_client)
    twice = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub"), x509.NameAttribute(NameOID.COMMON_NAME, "ange")])
        )
        .issuer_name(issuing.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(minutes=5))
        .not_valid_after(NOW + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(issuing_key, hashes.SHA256())
    )
    resigned = sign_document(CONTENT, STAFF_LIST_PURPOSE, key, twice)
    refused(resigned, anchors_of(pki), "not signed by 'hub'")


# --- protocol.chain ----------------------------------------------------------------------------------------


def test_verify_chain_returns_the_path_from_the_leaf_to_the_root(
    pki: PkiLayout, anchors: list[x509.Certificate]
) -> None:
    roots, intermediates = split_anchors(anchors)
    leaf = pem.read_cert(pki.hub_client.cert_file)
    path = verify_chain(leaf, roots, intermediates, NOW)
    assert path == [leaf, pem.read_cert(pki.issuing_ca.cert_file), pem.read_cert(pki.root_ca.cert_file)]


def test_verify_chain_refuses_a_leaf_of_another_ca(foreign_pki: PkiLayout, anchors: list[x509.Certificate]) -> None:
    roots, intermediates = split_anchors(anchors)
    with pytest.raises(ChainError):
        verify_chain(pem.read_cert(foreign_pki.device("ange").cert_file), roots, intermediates, NOW)


def test_verify_chain_refuses_when_the_intermediate_is_missing(pki: PkiLayout, anchors: list[x509.Certificate]) -> None:
    roots, _ = split_anchors(anchors)
    with pytest.raises(ChainError):
        verify_chain(pem.read_cert(pki.hub_client.cert_file), roots, [], NOW)


def test_verify_chain_refuses_outside_the_validity(pki: PkiLayout, anchors: list[x509.Certificate]) -> None:
    roots, intermediates = split_anchors(anchors)
    leaf = pem.read_cert(pki.device("ange").cert_file)
    with pytest.raises(ChainError):
        verify_chain(leaf, roots, intermediates, leaf.not_valid_after_utc + dt.timedelta(seconds=1))
    with pytest.raises(ChainError):
        verify_chain(leaf, roots, intermediates, leaf.not_valid_before_utc - dt.timedelta(seconds=1))


def test_verify_chain_without_a_root_says_no_anchor_is_configured(pki: PkiLayout) -> None:
    with pytest.raises(ChainError, match="no trust anchor is configured"):
        verify_chain(pem.read_cert(pki.hub_client.cert_file), [], [], NOW)


def test_a_leaf_among_the_anchors_is_not_a_root(pki: PkiLayout, document: dict[str, Any]) -> None:
    """Only self-signed certificates become roots: the hub's own certificate as the only anchor trusts nothing."""
    leaf = pem.read_cert(pki.hub_client.cert_file)
    assert split_anchors([leaf]) == ([], [leaf])
    refused(document, [leaf], "does not chain")


def test_split_anchors_separates_self_signed_roots_from_intermediates(pki: PkiLayout) -> None:
    root, issuing = pem.read_cert(pki.root_ca.cert_file), pem.read_cert(pki.issuing_ca.cert_file)
    assert split_anchors(anchors_of(pki)) == ([root], [issuing])
    assert split_anchors([root, issuing]) == ([root], [issuing])
    assert split_anchors([]) == ([], [])


def test_split_anchors_keeps_every_root_of_two_pkis(pki: PkiLayout, foreign_pki: PkiLayout) -> None:
    roots, intermediates = split_anchors([*anchors_of(pki), *anchors_of(foreign_pki)])
    assert len(roots) == 2 and len(intermediates) == 2
    assert all(cert.subject == cert.issuer for cert in roots)


def test_the_chain_file_is_what_the_tests_treat_as_anchors(pki: PkiLayout) -> None:
    """Guards the fixture assumption: the chain file holds the issuing CA, then the root."""
    assert Path(pki.chain).exists() and len(anchors_of(pki)) == 2
