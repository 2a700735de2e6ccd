"""Tinget's certificate authority on disk: root → issuing CA → broker, hub and device certificates.

Layout of a PKI directory (keys 0600, certificates 0644)::

    <dir>/ca/root.pem  root.key        offline root CA (the key may be moved away once the issuing CA exists)
    <dir>/ca/issuing.pem  issuing.key  issuing CA: signs every leaf below
    <dir>/ca/chain.pem                 issuing + root: the CA file the broker, the hub and the kiosks trust
    <dir>/broker/server.pem  server.key      Mosquitto's TLS server certificate
    <dir>/hub/web.pem  web.key               the hub web's TLS server certificate
    <dir>/hub/client.pem  client.key         the hub's client certificate (CN ``hub``) for MQTT and mTLS calls
    <dir>/devices/<id>/device.pem  device.key   one kiosk (CN = device id), short-lived
    <dir>/revoked.json                 revoked device ids (the broker ACL leaves them out)

Every operation is idempotent: material that exists is reused and checked, never overwritten unless asked for
(``renew``). Errors are `PkiError` with a message meant for the person at the terminal.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from provisioning import certificates as profiles
from provisioning import pem

DEVICE_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
HUB_USER = "hub"
# Identities the broker ACL gives other rights to: a kiosk must never be issued one of these as its CN.
RESERVED_IDS = frozenset({HUB_USER, "broker", "root", "admin"})


class PkiError(Exception):
    """A provisioning step cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Credential:
    """A certificate and its private key, as files."""

    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class Step:
    """What one `ensure_*` call did to one certificate: ``created``, ``reused`` or ``renewed``."""

    what: str
    cert_file: Path
    action: str
    not_after: dt.datetime


@dataclass(frozen=True)
class PkiLayout:
    """The paths inside a PKI directory (see the module docstring)."""

    root: Path

    @property
    def root_ca(self) -> Credential:
        return Credential(self.root / "ca" / "root.pem", self.root / "ca" / "root.key")

    @property
    def issuing_ca(self) -> Credential:
        return Credential(self.root / "ca" / "issuing.pem", self.root / "ca" / "issuing.key")

    @property
    def chain(self) -> Path:
        return self.root / "ca" / "chain.pem"

    @property
    def broker(self) -> Credential:
        return Credential(self.root / "broker" / "server.pem", self.root / "broker" / "server.key")

    @property
    def hub_web(self) -> Credential:
        return Credential(self.root / "hub" / "web.pem", self.root / "hub" / "web.key")

    @property
    def hub_client(self) -> Credential:
        return Credential(self.root / "hub" / "client.pem", self.root / "hub" / "client.key")

    @property
    def devices_dir(self) -> Path:
        return self.root / "devices"

    @property
    def revoked_file(self) -> Path:
        return self.root / "revoked.json"

    def device(self, device_id: str) -> Credential:
        """The credential files of one kiosk."""
        folder = self.devices_dir / check_device_id(device_id)
        return Credential(folder / "device.pem", folder / "device.key")


def check_device_id(device_id: str) -> str:
    """Return ``device_id`` if it is an ASCII slug that is not reserved; raise `PkiError` otherwise."""
    if not DEVICE_ID.match(device_id):
        raise PkiError(f"invalid device id {device_id!r}: use lower-case ASCII letters, digits and '-' (like 'ange')")
    if device_id in RESERVED_IDS:
        raise PkiError(f"device id {device_id!r} is reserved; choose another")
    return device_id


def _ensure(
    what: str,
    cred: Credential,
    make: Callable[[ec.EllipticCurvePrivateKey], x509.Certificate],
    steps: list[Step],
    *,
    key_may_be_offline: bool = False,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey | None]:
    """Reuse ``cred`` if both files exist, finish it if only the key does, create both if neither does."""
    cert_exists, key_exists = cred.cert_file.exists(), cred.key_file.exists()
    if cert_exists:
        cert = pem.read_cert(cred.cert_file)
        if not key_exists:
            if key_may_be_offline:
                steps.append(Step(what, cred.cert_file, "reused", cert.not_valid_after_utc))
                return cert, None
            raise PkiError(f"{cred.cert_file} exists but its key {cred.key_file} is missing; restore the key")
        key = pem.read_key(cred.key_file)
        if cert.public_key() != key.public_key():
            raise PkiError(f"{cred.cert_file} does not match the key {cred.key_file}; restore the pair")
        steps.append(Step(what, cred.cert_file, "reused", cert.not_valid_after_utc))
        return cert, key
    if key_exists:  # an earlier run stopped between writing the key and the certificate
        key = pem.read_key(cred.key_file)
    else:
        key = profiles.new_key()
        pem.write_new(cred.key_file, pem.key_bytes(key), pem.KEY_MODE)
    cert = make(key)
    pem.write_new(cred.cert_file, pem.cert_bytes(cert), pem.CERT_MODE)
    steps.append(Step(what, cred.cert_file, "created", cert.not_valid_after_utc))
    return cert, key


def _ensure_chain(layout: PkiLayout, issuing: x509.Certificate, root: x509.Certificate) -> None:
    chain = pem.cert_bytes(issuing, root)
    if not layout.chain.exists():
        pem.write_new(layout.chain, chain, pem.CERT_MODE)
    elif layout.chain.read_bytes() != chain:
        raise PkiError(f"{layout.chain} does not hold this PKI's issuing and root CA; remove it to rebuild")


def _check_names(cert: x509.Certificate, hostname: str | None, cert_file: Path) -> None:
    wanted = {str(name.value) for name in profiles.server_names(hostname)}
    missing = wanted - profiles.san_names(cert)
    if missing:
        raise PkiError(
            f"{cert_file} exists without the host name(s) {', '.join(sorted(missing))}; "
            f"remove {cert_file.parent} and run again to issue a new one"
        )


def load_issuer(layout: PkiLayout) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The issuing CA's certificate and key; `PkiError` if the PKI has not been created."""
    cred = layout.issuing_ca
    if not (cred.cert_file.exists() and cred.key_file.exists()):
        raise PkiError(f"no issuing CA in {layout.root}; run `tinget provision pki --dir {layout.root}`")
    return pem.read_cert(cred.cert_file), pem.read_key(cred.key_file)


def ensure_pki(directory: Path, hostname: str | None = None, *, now: dt.datetime | None = None) -> list[Step]:
    """Create what is missing of root CA, issuing CA, chain, broker and hub certificates; reuse the rest."""
    layout, now = PkiLayout(Path(directory)), now or profiles.utc_now()
    steps: list[Step] = []
    root, root_key = _ensure(
        "root CA",
        layout.root_ca,
        lambda key: profiles.build_root(key, now=now),
        steps,
        key_may_be_offline=True,
    )

    def make_issuing(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
        if root_key is None:
            raise PkiError(f"the root CA key {layout.root_ca.key_file} is offline; bring it back for this")
        return profiles.build_issuing(key.public_key(), root, root_key, now=now)

    issuing, issuing_key = _ensure("issuing CA", layout.issuing_ca, make_issuing, steps)
    assert issuing_key is not None  # _ensure returns None only for a key that may be offline
    _ensure_chain(layout, issuing, root)
    names = profiles.server_names(hostname)
    servers = (("broker", layout.broker, "Tinget broker"), ("hub web", layout.hub_web, "Tinget hub"))
    for what, cred, cn in servers:

        def make_server(key: ec.EllipticCurvePrivateKey, cn: str = cn) -> x509.Certificate:
            return profiles.build_server(cn, key.public_key(), names, issuing, issuing_key, now=now)

        cert, _ = _ensure(what, cred, make_server, steps)
        _check_names(cert, hostname, cred.cert_file)

    def make_hub_client(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
        return profiles.build_client(
            HUB_USER, key.public_key(), issuing, issuing_key, now=now, days=profiles.HUB_CLIENT_DAYS
        )

    _ensure("hub client", layout.hub_client, make_hub_client, steps)
    return steps


def ensure_device(
    directory: Path,
    device_id: str,
    *,
    days: int = profiles.DEVICE_DAYS,
    renew: bool = False,
    now: dt.datetime | None = None,
) -> Step:
    """Give kiosk ``device_id`` a key and a ``days``-long certificate, or reuse them (``renew``: new cert)."""
    layout, now = PkiLayout(Path(directory)), now or profiles.utc_now()
    cred = layout.device(device_id)
    if device_id in revoked_devices(directory):
        raise PkiError(f"device {device_id!r} is revoked; enrol the replacement kiosk under a new device id")
    if days < 1:
        raise PkiError("a device certificate must be valid for at least one day")
    issuing, issuing_key = load_issuer(layout)

    def make(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
        return profiles.build_client(device_id, key.public_key(), issuing, issuing_key, now=now, days=days)

    steps: list[Step] = []
    _cert, key = _ensure(f"device {device_id}", cred, make, steps)
    if not renew or steps[0].action == "created":
        return steps[0]
    assert key is not None
    cert = make(key)
    pem.replace(cred.cert_file, pem.cert_bytes(cert), pem.CERT_MODE)
    return Step(f"device {device_id}", cred.cert_file, "renewed", cert.not_valid_after_utc)


def enrolled_devices(directory: Path) -> list[str]:
    """The ids of every kiosk with a certificate in the PKI, revoked or not, sorted."""
    devices_dir = PkiLayout(Path(directory)).devices_dir
    if not devices_dir.is_dir():
        return []
    return sorted(
        entry.name
        for entry in devices_dir.iterdir()
        if DEVICE_ID.match(entry.name) and entry.name not in RESERVED_IDS and (entry / "device.pem").is_file()
    )


def revoked_devices(directory: Path) -> dict[str, dict[str, object]]:
    """Revoked device id → its record (``revoked_at``, ``serial``), read from ``revoked.json``."""
    path = PkiLayout(Path(directory)).revoked_file
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(entry["device"]): dict(entry) for entry in data["revoked"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise PkiError(f"{path} is not a valid revocation list ({exc}); fix or restore it") from exc


def active_devices(directory: Path) -> list[str]:
    """Enrolled devices that are not revoked: the ones the broker ACL lets in."""
    revoked = revoked_devices(directory)
    return [device for device in enrolled_devices(directory) if device not in revoked]


def revoke_device(directory: Path, device_id: str, *, now: dt.datetime | None = None) -> bool:
    """Add ``device_id`` to the revocation list; False if it was already there. Unknown ids are refused."""
    layout = PkiLayout(Path(directory))
    cred = layout.device(device_id)
    revoked = revoked_devices(directory)
    if device_id in revoked:
        return False
    if not cred.cert_file.exists():
        raise PkiError(f"device {device_id!r} is not enrolled in {layout.root}; check the id")
    cert = pem.read_cert(cred.cert_file)
    revoked[device_id] = {
        "device": device_id,
        "revoked_at": (now or profiles.utc_now()).isoformat(timespec="seconds"),
        "serial": format(cert.serial_number, "x"),  # kept for a CRL, should one be published later
    }
    document = {"version": 1, "revoked": [revoked[key] for key in sorted(revoked)]}
    pem.replace(layout.revoked_file, (json.dumps(document, indent=2) + "\n").encode(), pem.CERT_MODE)
    return True
