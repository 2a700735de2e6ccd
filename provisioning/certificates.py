"""Certificate profiles of Tinget's PKI, built in memory (no I/O here; `provisioning.pki` stores them).

Every key is EC P-256 and every signature ECDSA with SHA-256. The chain is root CA → issuing CA → leaf;
the root only ever signs the issuing CA, so it can live offline. Leaves are either TLS servers (broker,
hub web: SAN with the host names clients dial) or TLS clients (the hub, one per kiosk: CN is the MQTT
user name Mosquitto takes from it).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ORGANISATION = "Tinget"
# Clocks on kiosks drift and a freshly issued certificate must work at once: backdate the start a little.
BACKDATE = dt.timedelta(minutes=5)
ROOT_DAYS = 20 * 365
ISSUING_DAYS = 5 * 365
SERVER_DAYS = 397  # the CA/Browser Forum ceiling, so the same certificate also satisfies browsers
HUB_CLIENT_DAYS = 397
DEVICE_DAYS = 30  # short-lived: a lost kiosk stops working on its own even if revocation never reaches it


def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh EC P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def utc_now() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(
    subject: str, public_key: ec.EllipticCurvePublicKey, issuer: x509.Name, days: int, now: dt.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _authority_key_id(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def build_root(key: ec.EllipticCurvePrivateKey, *, now: dt.datetime, days: int = ROOT_DAYS) -> x509.Certificate:
    """The self-signed root CA; it may sign one level of CA below it."""
    builder = (
        _builder("Tinget root CA", key.public_key(), _name("Tinget root CA"), days, now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
    )
    return builder.sign(key, hashes.SHA256())


def build_issuing(
    public_key: ec.EllipticCurvePublicKey,
    root: x509.Certificate,
    root_key: ec.EllipticCurvePrivateKey,
    *,
    now: dt.datetime,
    days: int = ISSUING_DAYS,
) -> x509.Certificate:
    """The issuing CA, signed by the root; it signs leaves only (path length 0)."""
    builder = (
        _builder("Tinget issuing CA", public_key, root.subject, days, now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(_authority_key_id(root), critical=False)
    )
    return builder.sign(root_key, hashes.SHA256())


def _leaf(
    common_name: str,
    public_key: ec.EllipticCurvePublicKey,
    issuer: x509.Certificate,
    days: int,
    now: dt.datetime,
    usage: x509.ObjectIdentifier,
) -> x509.CertificateBuilder:
    return (
        _builder(common_name, public_key, issuer.subject, days, now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(_authority_key_id(issuer), critical=False)
    )


def server_names(hostname: str | None) -> list[x509.GeneralName]:
    """The subject alternative names of a server certificate: localhost, loopback, ``hostname``."""
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    if hostname and hostname != "localhost":
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(hostname)))
        except ValueError:
            names.append(x509.DNSName(hostname))
    return names


def build_server(
    common_name: str,
    public_key: ec.EllipticCurvePublicKey,
    names: Iterable[x509.GeneralName],
    issuer: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    now: dt.datetime,
    days: int = SERVER_DAYS,
) -> x509.Certificate:
    """A TLS server certificate (broker, hub web) valid for ``names``."""
    builder = _leaf(common_name, public_key, issuer, days, now, ExtendedKeyUsageOID.SERVER_AUTH)
    builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def client_uri(common_name: str) -> str:
    """The SAN URI of a client certificate: ``urn:tinget:hub`` or ``urn:tinget:device:<id>``."""
    return "urn:tinget:hub" if common_name == "hub" else f"urn:tinget:device:{common_name}"


def build_client(
    common_name: str,
    public_key: ec.EllipticCurvePublicKey,
    issuer: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    now: dt.datetime,
    days: int,
) -> x509.Certificate:
    """A TLS client certificate; its CN is the identity the broker and the hub see (``hub``, a device id)."""
    builder = _leaf(common_name, public_key, issuer, days, now, ExtendedKeyUsageOID.CLIENT_AUTH)
    # Mosquitto reads the CN; X.509 path validators (the hub's, `cryptography`'s) want the identity in a SAN.
    san = x509.SubjectAlternativeName([x509.UniformResourceIdentifier(client_uri(common_name))])
    builder = builder.add_extension(san, critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def common_name(cert: x509.Certificate) -> str:
    """The subject CN of ``cert`` ('' when it has none)."""
    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def san_names(cert: x509.Certificate) -> set[str]:
    """The DNS names and IP addresses in ``cert``'s subject alternative names, as strings."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    dns = san.get_values_for_type(x509.DNSName)
    ips = san.get_values_for_type(x509.IPAddress)
    return {*dns, *(str(ip) for ip in ips)}
