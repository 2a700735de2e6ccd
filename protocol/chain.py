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
