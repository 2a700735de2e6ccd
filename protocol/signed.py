"""Documents the hub signs for kiosks (the staff list): canonical bytes, an ECDSA signature, the signer's certificate.

A signed document is ``{"content": …, "signature": base64, "signer": PEM, "purpose": …}``. The signature is
ECDSA P-256 with SHA-256 over the canonical encoding (`protocol.codec`) of ``{"content": …, "purpose": …}``, so
a document signed for one purpose cannot be passed off as another. The signer is the hub's client certificate
(CN ``hub``), which a kiosk checks against the device PKI's CA chain it already trusts for MQTT and HTTPS.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from protocol import codec
from protocol.chain import ChainError, split_anchors, verify_chain

HUB_SIGNER_CN = "hub"


class SignatureRefused(ValueError):
    """A signed document is malformed, signed for another purpose, by another signer, or tampered with."""


def _signed_bytes(content: Mapping[str, Any], purpose: str) -> bytes:
    return codec.encode({"content": dict(content), "purpose": purpose})


def sign_document(
    content: Mapping[str, Any], purpose: str, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate
) -> dict[str, Any]:
    """A signed document for ``purpose`` holding ``content`` (a JSON object), signed with ``key``."""
    # Deterministic ECDSA (RFC 6979): the same content signs to the same bytes, so republishing an unchanged
    # list does not make a new set version for every kiosk to fetch.
    signature = key.sign(_signed_bytes(content, purpose), ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    return {
        "content": dict(content),
        "purpose": purpose,
        "signature": base64.b64encode(signature).decode("ascii"),
        "signer": certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
    }


def verify_document(
    document: Any,
    purpose: str,
    anchors: Sequence[x509.Certificate],
    *,
    now: dt.datetime | None = None,
    signer_cn: str = HUB_SIGNER_CN,
) -> dict[str, Any]:
    """The content of ``document`` if it is signed for ``purpose`` by a certificate with CN ``signer_cn`` that
    chains to ``anchors`` (root and intermediates, as in the device PKI's chain file); `SignatureRefused` if not.
    """
    if not isinstance(document, dict) or set(document) != {"content", "purpose", "signature", "signer"}:
        raise SignatureRefused("not a signed document")
    if document["purpose"] != purpose or not isinstance(document["content"], dict):
        raise SignatureRefused(f"the document is not signed for {purpose!r}")
    try:
        signer = x509.load_pem_x509_certificate(str(document["signer"]).encode("ascii"))
        signature = base64.b64decode(str(document["signature"]), validate=True)
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise SignatureRefused("the signature or the signer's certificate cannot be read") from None
    names = signer.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1 or names[0].value != signer_cn:
        raise SignatureRefused(f"the document is not signed by {signer_cn!r}")
    roots, intermediates = split_anchors(anchors)
    try:
        verify_chain(signer, roots, intermediates, now or dt.datetime.now(dt.UTC))
    except ChainError:
        raise SignatureRefused("the signer's certificate does not chain to the trusted CA") from None
    public_key = signer.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise SignatureRefused("the signer's key is not an EC key")
    try:
        public_key.verify(signature, _signed_bytes(document["content"], purpose), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, codec.EncodeError):
        raise SignatureRefused("the signature does not match the document") from None
    return dict(document["content"])
