"""X.509 path validation for e-ID cards and hub-signed documents, offline, with a permissive extension policy.

`cryptography`'s verifier builds and checks the path (signatures, validity, CA flags, path length); its web-PKI
extension defaults would refuse typical e-ID certificates (no subjectAltName, other key usages), so the policy
here only insists on what makes a CA a CA (basicConstraints), and callers check key usage and revocation
themselves (DESIGN.md pitfalls). Revocation is not checked here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cryptography import x509
from cryptography.x509 import verification


class ChainError(ValueError):
    """The certificate does not chain to a trust anchor at the given time; the message says why (for logs)."""


def split_anchors(certificates: Sequence[x509.Certificate]) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """(self-signed roots, everything else) of a CA bundle such as a chain file."""
    roots = [cert for cert in certificates if cert.subject == cert.issuer]
    return roots, [cert for cert in certificates if cert.subject != cert.issuer]


def verify_chain(
    leaf: x509.Certificate,
    roots: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate],
    now: dt.datetime,
) -> list[x509.Certificate]:
    """The validated path from ``leaf`` to one of ``roots`` at time ``now``; `ChainError` if there is none."""
    if not roots:
        raise ChainError("no trust anchor is configured")
    ca_policy = verification.ExtensionPolicy.permit_all().require_present(
        x509.BasicConstraints, verification.Criticality.AGNOSTIC, None
    )
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store(list(roots)))
        .time(now)
        .extension_policies(ca_policy=ca_policy, ee_policy=verification.ExtensionPolicy.permit_all())
        .build_client_verifier()
    )
    try:
        return list(verifier.verify(leaf, list(intermediates)).chain)
    except verification.VerificationError as exc:
        raise ChainError(str(exc)) from None


_KNOWN_CRL_EXTENSIONS = frozenset(
    {
        x509.oid.ExtensionOID.CRL_NUMBER,
        x509.oid.ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        x509.oid.ExtensionOID.ISSUER_ALTERNATIVE_NAME,
        x509.oid.ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
        x509.oid.ExtensionOID.FRESHEST_CRL,  # only a pointer to deltas; the list itself is complete
    }
)


def complete_crl_problem(crl: x509.CertificateRevocationList) -> str | None:
    """Why ``crl`` is not its issuer's complete list of revoked certificates, or None when it is.

    A delta list holds only the changes since a base list, and a list with an issuing distribution point may
    cover only a part (some reasons, only CA certificates, one partition): taking either for the whole list
    would accept revoked cards. Tinget uses complete lists only; so does an unknown critical extension.
    """
    try:
        extensions = list(crl.extensions)
    except ValueError:
        return "its extensions cannot be read"
    for extension in extensions:
        if extension.oid == x509.oid.ExtensionOID.DELTA_CRL_INDICATOR:
            return "it is a delta list (changes since a base list), not the complete list"
        if extension.oid == x509.oid.ExtensionOID.ISSUING_DISTRIBUTION_POINT:
            return "it covers only part of the issuer's certificates (an issuing distribution point)"
        if extension.critical and extension.oid not in _KNOWN_CRL_EXTENSIONS:
            return f"it has an unknown critical extension {extension.oid.dotted_string}"
    return None
