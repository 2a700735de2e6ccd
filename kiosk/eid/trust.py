"""The e-ID trust material a kiosk holds: issuers' CA certificates, their revocation lists, the staff list.

It arrives in the replicated "trust" set (hub/sets/content.py writes it) and is read from the kiosk's last good
copy, so sign-in works with the hub unreachable. The set's ``eid`` part holds PEM certificates (roots and
intermediates of every accepted e-ID issuer) and PEM CRLs; its ``staff`` part is a document the hub signs
(`protocol.signed`, purpose `STAFF_LIST_PURPOSE`) that maps employee ids to roles. Malformed parts are left
out and logged: the kiosk then refuses the cards they would have vouched for (fail closed).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from cryptography import x509

from protocol.chain import split_anchors
from protocol.eid import STAFF_LIST_PURPOSE
from protocol.eid_validation import EidTrust
from protocol.signed import SignatureRefused, verify_document

log = logging.getLogger(__name__)
T = TypeVar("T")


def _each_pem(pems: Any, load: Callable[[bytes], list[T]], what: str) -> tuple[T, ...]:
    """Every object the PEM texts in ``pems`` hold; an unreadable one is left out (and logged)."""
    if not isinstance(pems, list):
        return ()
    loaded: list[T] = []
    for text in pems:
        try:
            loaded.extend(load(str(text).encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            log.warning("trust set: an entry cannot be read; it is left out", extra={"what": what})
    return tuple(loaded)


def _certificates(pems: Any) -> tuple[x509.Certificate, ...]:
    return _each_pem(pems, x509.load_pem_x509_certificates, "e-ID CA certificate")


def _crls(pems: Any) -> tuple[x509.CertificateRevocationList, ...]:
    return _each_pem(pems, lambda data: [x509.load_pem_x509_crl(data)], "revocation list")


@dataclass(frozen=True)
class _StaffList:
    roles: dict[str, tuple[str, ...]]
    issuers: frozenset[str]
    expires_at: dt.datetime | None


def _staff(document: Any, device_ca: Sequence[x509.Certificate], now: dt.datetime) -> _StaffList:
    nobody = _StaffList({}, frozenset(), None)
    if document is None:
        return nobody
    try:
        content = verify_document(document, STAFF_LIST_PURPOSE, device_ca, now=now)
        roles = {
            str(employee): tuple(str(role) for role in held) for employee, held in dict(content["members"]).items()
        }
        issuers = frozenset(str(fingerprint) for fingerprint in content["issuers"])
        expires_at = dt.datetime.fromtimestamp(int(content["expires_at"]) / 1000, dt.UTC)
    except SignatureRefused as exc:
        log.warning("trust set: the staff list is refused; no staff card is accepted", extra={"reason": str(exc)})
        return nobody
    except (KeyError, TypeError, ValueError, OverflowError):
        log.warning("trust set: the staff list is malformed; no staff card is accepted")
        return nobody
    return _StaffList(roles, issuers, expires_at)


def trust_from_set(
    content: Mapping[str, Any] | None, device_ca: Sequence[x509.Certificate], now: dt.datetime
) -> EidTrust:
    """The e-ID trust in a trust set's content (None: the kiosk has no copy yet, so nothing is trusted)."""
    if content is None:
        return EidTrust()
    found = content.get("eid")
    eid: dict[str, Any] = found if isinstance(found, dict) else {}
    roots, intermediates = split_anchors(_certificates(eid.get("certificates")))
    staff = _staff(content.get("staff"), device_ca, now)
    return EidTrust(
        tuple(roots), tuple(intermediates), _crls(eid.get("crls")), staff.roles, staff.issuers, staff.expires_at
    )
