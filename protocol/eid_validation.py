"""Is this e-ID card's certificate one to accept, right now and offline? (SEC-01, SEC-15)

Shared by the kiosk (at sign-in, with the trust set it holds) and the hub (again at ingest, for the certificate
sealed inside a ballot's envelope). The order of checks gives each failure its own reason: the clock first (a
clock set back would make an expired certificate or an old revocation list look current), then the
certificate's own validity, the path to a trust anchor, key usage, and revocation of every certificate on the path
below the anchor — hard-fail: a missing list, or one past its next update plus the configured grace, refuses the
card (a soft-fail checker would accept any card while the list is missing). Only complete lists count: a delta
or partitioned list is not the issuer's whole list. Last, the subject must name a resident or a staff member.
Every failure, a malformed certificate included, is a `Refused`; nothing else escapes (SEC-13).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.utils import CryptographyDeprecationWarning

from protocol.chain import ChainError, complete_crl_problem, verify_chain
from protocol.eid import CardHolder, NotAnEid, card_holder, certificate_fingerprint
from protocol.eid import RefusalReason as Reason

log = logging.getLogger(__name__)

DEFAULT_CLOCK_SKEW = dt.timedelta(minutes=5)

_LONG_NUMBER = re.compile(r"[0-9][0-9 +-]{4,}[0-9]")

__all__ = [
    "EidTrust",
    "Reason",
    "Refused",
    "ValidCertificate",
    "ValidationPolicy",
    "signed_crl_times",
    "validate_certificate",
]


class Refused(Exception):
    """A card cannot start a session, for ``reason``; ``detail`` is for the log (never personal data)."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        detail = _LONG_NUMBER.sub("…", detail)  # a number in a library's message could be a personnummer
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class EidTrust:
    """Trust anchors, intermediates and CRLs for e-ID cards, and the verified staff roles by employee id."""

    roots: tuple[x509.Certificate, ...] = ()
    intermediates: tuple[x509.Certificate, ...] = ()
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    staff_roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    staff_issuers: frozenset[str] = frozenset()  # fingerprints of the CAs whose cards may sign staff in
    staff_expires_at: dt.datetime | None = None

    @property
    def empty(self) -> bool:
        """True when the kiosk has no e-ID issuer to trust (no set yet, or the set names none)."""
        return not self.roots

    def staff_roles_for(self, employee_id: str, issuer: x509.Certificate, now: dt.datetime) -> tuple[str, ...]:
        """The roles of a staff card: its id on the list, its issuer one that issues staff cards, the list
        current; () otherwise."""
        if self.staff_expires_at is None or now > self.staff_expires_at:
            return ()
        if certificate_fingerprint(issuer) not in self.staff_issuers:
            return ()
        return tuple(self.staff_roles.get(employee_id, ()))


def signed_crl_times(trust: EidTrust) -> list[dt.datetime]:
    """The issue times of the lists in ``trust`` that a CA in it signed (times the kiosk did not make itself)."""
    authorities = [*trust.roots, *trust.intermediates]
    times = []
    for crl in trust.crls:
        for authority in authorities:
            if authority.subject == crl.issuer and crl.is_signature_valid(_key(authority)):
                times.append(crl.last_update_utc)
                break
    return times


@dataclass(frozen=True)
class ValidationPolicy:
    """How much a revocation list may be overdue, and how much clock skew is tolerated."""

    crl_grace: dt.timedelta = dt.timedelta(hours=24)
    clock_skew: dt.timedelta = DEFAULT_CLOCK_SKEW


@dataclass(frozen=True)
class ValidCertificate:
    """A certificate that passed every check, the path it chains by, and the holder it names."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    holder: CardHolder


def _load(der: bytes) -> x509.Certificate:
    try:
        with warnings.catch_warnings():
            # A certificate `cryptography` only warns about (a serial number that is not positive, …) breaks
            # RFC 5280: for an identity card that is a refusal, not a warning.
            warnings.simplefilter("error", CryptographyDeprecationWarning)
            certificate = x509.load_der_x509_certificate(der)
            certificate.not_valid_after_utc  # noqa: B018  # parsed lazily: make a malformed certificate fail here
            certificate.not_valid_before_utc  # noqa: B018
            certificate.serial_number  # noqa: B018
        return certificate
    except (ValueError, x509.InvalidVersion, CryptographyDeprecationWarning):
        raise Refused(Reason.NOT_AN_EID, "the card's certificate is not DER X.509") from None


def _first_clause(message: str) -> str:
    """A verifier message without the certificate it names: the subject holds a name and a personnummer."""
    return message.split(" (encountered processing", 1)[0].split("<Certificate", 1)[0][:160]


def _check_clock(
    certificate: x509.Certificate,
    trust: EidTrust,
    now: dt.datetime,
    floor: dt.datetime | None,
    policy: ValidationPolicy,
) -> None:
    """Before any date is judged: is the kiosk's clock behind a time it knows has passed? The floor, and the
    issue time of the card's issuer's own list (only that issuer's, signed: another issuer's clock is not ours
    to judge by)."""
    if floor is not None and now < floor - policy.clock_skew:
        raise Refused(Reason.CLOCK_BEHIND, "the clock is before the last known good time")
    for authority in (*trust.intermediates, *trust.roots):
        if authority.subject != certificate.issuer:
            continue
        crl = _crl_for(trust, authority)
        if crl is not None and now < crl.last_update_utc - policy.clock_skew:
            raise Refused(Reason.CLOCK_BEHIND, "the clock is before the issuer's revocation list was issued")


def _check_key_usage(certificate: x509.Certificate) -> None:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise Refused(Reason.NOT_AN_EID, "the certificate has no key usage") from None
    if not usage.digital_signature:
        raise Refused(Reason.NOT_AN_EID, "the certificate's key may not sign")


def _key(certificate: x509.Certificate) -> Any:
    return certificate.public_key()  # a CA's key: one of the kinds a CRL can be signed with


def _crl_for(trust: EidTrust, issuer: x509.Certificate) -> x509.CertificateRevocationList | None:
    """The newest list signed by ``issuer`` among those the kiosk holds."""
    lists = [
        crl
        for crl in trust.crls
        if crl.issuer == issuer.subject and complete_crl_problem(crl) is None and crl.is_signature_valid(_key(issuer))
    ]
    return max(lists, key=lambda crl: crl.last_update_utc, default=None)


def _check_revocation(
    chain: list[x509.Certificate], trust: EidTrust, now: dt.datetime, policy: ValidationPolicy
) -> None:
    for certificate, issuer in itertools.pairwise(chain):
        crl = _crl_for(trust, issuer)
        if crl is None:
            raise Refused(Reason.NO_TRUST_LIST, "no revocation list for an issuer on the path")
        if now < crl.last_update_utc - policy.clock_skew:
            raise Refused(Reason.CLOCK_BEHIND, "the clock is before the revocation list was issued")
        next_update = crl.next_update_utc
        if next_update is None or now > next_update + policy.crl_grace:
            raise Refused(Reason.STALE_TRUST_LIST, "the revocation list is past its next update and the grace")
        if crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None:
            raise Refused(Reason.REVOKED, "the certificate is on its issuer's revocation list")


def validate_certificate(
    der: bytes,
    trust: EidTrust,
    now: dt.datetime,
    *,
    clock_floor: dt.datetime | None = None,
    policy: ValidationPolicy | None = None,
) -> ValidCertificate:
    """Check a card's certificate at ``now`` against ``trust``; `Refused` with the reason if it fails.

    ``clock_floor`` is the latest time the kiosk knows has passed (an issuer's signed list): a clock behind it
    cannot be trusted to judge validity. `Refused` is the only exception: `cryptography` parses a certificate
    lazily, so a malformed one can fail in any step, and each such failure is "not an e-ID".
    """
    try:
        return _validate(der, trust, now, clock_floor, policy or ValidationPolicy())
    except (ValueError, TypeError, x509.InvalidVersion, UnsupportedAlgorithm):
        raise Refused(Reason.NOT_AN_EID, "the certificate cannot be parsed") from None


def _validate(
    der: bytes, trust: EidTrust, now: dt.datetime, clock_floor: dt.datetime | None, policy: ValidationPolicy
) -> ValidCertificate:
    certificate = _load(der)
    if trust.empty:
        raise Refused(Reason.NO_TRUST_LIST, "the kiosk holds no e-ID trust anchors")
    _check_clock(certificate, trust, now, clock_floor, policy)
    if now > certificate.not_valid_after_utc:
        raise Refused(Reason.EXPIRED, "the certificate's validity has ended")
    if now < certificate.not_valid_before_utc:
        raise Refused(Reason.NOT_YET_VALID, "the certificate's validity has not begun")
    try:
        chain = verify_chain(certificate, trust.roots, trust.intermediates, now)
    except ChainError as exc:
        raise Refused(Reason.UNKNOWN_ISSUER, _first_clause(str(exc))) from None
    _check_key_usage(certificate)
    _check_revocation(chain, trust, now, policy)
    try:
        holder = card_holder(certificate)
    except NotAnEid as exc:
        raise Refused(Reason.NOT_AN_EID, str(exc)) from None
    return ValidCertificate(certificate, tuple(chain), holder)
