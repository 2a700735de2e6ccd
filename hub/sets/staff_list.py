"""The staff list in the trust set: employee ids and their roles, signed by the hub (`protocol.signed`).

The hub signs with its own client key (``mqtt_key_file``, CN ``hub``, from the device PKI), which every kiosk
can check against the CA chain it already trusts. Without that key configured there is no list, and kiosks
accept no staff card: the hub says so in its log.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hub.sets.trust import TrustError
from hub.settings import HubSettings
from protocol.eid import STAFF_LIST_PURPOSE, certificate_fingerprint
from protocol.signed import sign_document

log = logging.getLogger(__name__)


LIFETIME = dt.timedelta(days=8)  # a kiosk cut off longer than this refuses staff cards until it hears again


def staff_issuers(settings: HubSettings) -> list[str]:
    """Fingerprints of the CAs in ``eid_staff_ca_file`` (none when it is unset: then no card signs staff in)."""
    if settings.eid_staff_ca_file is None:
        return []
    try:
        certificates = x509.load_pem_x509_certificates(settings.eid_staff_ca_file.read_bytes())
    except (OSError, ValueError) as exc:
        raise TrustError(f"eid_staff_ca_file {settings.eid_staff_ca_file} cannot be read: {exc}") from None
    return sorted({certificate_fingerprint(certificate) for certificate in certificates})


def signed_staff_list(
    settings: HubSettings, members: Mapping[str, list[str]], now: dt.datetime | None = None
) -> dict[str, Any] | None:
    """The signed list for ``members`` (employee id → roles), or None when the hub has no signing key.

    It is issued at the start of the day (UTC) and valid for `LIFETIME`: the same all day, so republishing an
    unchanged list makes no new set version, and a fresh one every day, so an old list stops counting.
    """
    if settings.mqtt_cert_file is None or settings.mqtt_key_file is None:
        log.warning("no staff list for the kiosks: mqtt_cert_file and mqtt_key_file (the hub's key) are not set")
        return None
    try:
        certificate = x509.load_pem_x509_certificate(settings.mqtt_cert_file.read_bytes())
        key = serialization.load_pem_private_key(settings.mqtt_key_file.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise TrustError(f"the hub's signing key or certificate cannot be read: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != certificate.public_key():
        raise TrustError(f"{settings.mqtt_key_file} is not the EC key of {settings.mqtt_cert_file}")
    issuers = staff_issuers(settings)
    if members and not issuers:
        log.warning("staff members have cards, but no staff card is accepted at the kiosks: set eid_staff_ca_file")
    day = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    content = {
        "members": {employee: list(roles) for employee, roles in sorted(members.items())},
        "issuers": issuers,
        "issued_at": int(day.timestamp() * 1000),
        "expires_at": int((day + LIFETIME).timestamp() * 1000),
    }
    return sign_document(content, STAFF_LIST_PURPOSE, key, certificate)
