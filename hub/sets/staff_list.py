"""The staff list in the trust set: employee ids and their roles, signed by the hub (`protocol.signed`).

The hub signs with its own client key (``mqtt_key_file``, CN ``hub``, from the device PKI), which every kiosk
can check against the CA chain it already trusts. Without that key configured there is no list, and kiosks
accept no staff card: the hub says so in its log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hub.sets.trust import TrustError
from hub.settings import HubSettings
from protocol.eid import STAFF_LIST_PURPOSE
from protocol.signed import sign_document

log = logging.getLogger(__name__)


def signed_staff_list(settings: HubSettings, members: Mapping[str, list[str]]) -> dict[str, Any] | None:
    """The signed list for ``members`` (employee id → roles), or None when the hub has no signing key."""
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
    content = {"members": {employee: list(roles) for employee, roles in sorted(members.items())}}
    return sign_document(content, STAFF_LIST_PURPOSE, key, certificate)
