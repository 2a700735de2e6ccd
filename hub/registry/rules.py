"""The registry's rules as plain code (no framework): kinds, secrecy, what may be shown, numbers, retention.

Offentlighetsprincipen: a document is public unless a paragraph of Offentlighets- och sekretesslagen (OSL)
makes it secret. A secret document's registry entry is still listed (so anyone can ask for it), but only its
case number, type and date, never its title, counterpart, text or file. A partly secret document is published
as the masked version the registrar uploads. A document flagged as holding personal data is listed with its
title, but its file and text stay at the hub until someone asks (GDPR: no bulk publication of personal data).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum


class RegistryError(ValueError):
    """A registry action cannot be done as asked; ``code`` names the rule, the message says it to a person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Kind(StrEnum):
    """What a document is."""

    INCOMING = "incoming"
    OUTGOING = "outgoing"
    DECISION = "decision"
    MINUTES = "minutes"
    AGENDA = "agenda"
    NOTICE = "notice"
    MEMO = "memo"


class Secrecy(StrEnum):
    """How much of a document is public."""

    PUBLIC = "public"
    PARTIAL = "partial"  # published as a masked version
    SECRET = "secret"  # noqa: S105 - a secrecy level, not a password


class RequestStatus(StrEnum):
    """Where a request for a document stands."""

    NEW = "new"
    HANDLING = "handling"
    GRANTED = "granted"
    PARTLY = "partly"
    REFUSED = "refused"


OPEN_REQUEST_STATUSES = (RequestStatus.NEW, RequestStatus.HANDLING)
REQUEST_DEADLINE = dt.timedelta(days=1)  # "skyndsamt": JO expects an answer the same or the next working day
BOARD = re.compile(r"[A-ZÅÄÖ]{1,6}")
CASE_NUMBER = re.compile(r"([A-ZÅÄÖ]{1,6}) (\d{4})/(\d{1,6})")
OSL_PARAGRAPH = re.compile(r"\d{1,2} kap\. \d{1,2}[a-z]? §.{0,60}")
MAX_TITLE = 500


@dataclass(frozen=True, slots=True)
class CaseNumber:
    """``KS 2026/123``."""

    board: str
    year: int
    serial: int

    def __str__(self) -> str:
        return f"{self.board} {self.year}/{self.serial}"

    def document(self, serial: int) -> str:
        """A document's number in the case: ``KS 2026/123-4``."""
        return f"{self}-{serial}"


def parse_case_number(text: str) -> CaseNumber:
    """``KS 2026/123`` into its parts; `RegistryError` ``case_number`` if it is not one."""
    match = CASE_NUMBER.fullmatch(" ".join(text.split()).upper())
    if match is None:
        raise RegistryError("case_number", f"{text[:40]!r} is not a case number like 'KS 2026/123'")
    board, year, serial = match.groups()
    if int(serial) < 1 or not 1900 <= int(year) <= 2200:
        raise RegistryError("case_number", f"{text[:40]!r} has no valid year or serial")
    return CaseNumber(board, int(year), int(serial))


def check_board(board: str) -> str:
    """A board's short name in capitals (``KS``, ``BN``); `RegistryError` ``board`` otherwise."""
    board = board.strip().upper()
    if not BOARD.fullmatch(board):
        raise RegistryError("board", "a board is 1-6 capital letters, such as KS or BN")
    return board


def check_title(title: str) -> str:
    """A non-empty title of at most `MAX_TITLE` characters."""
    title = " ".join(title.split())
    if not title or len(title) > MAX_TITLE:
        raise RegistryError("title", f"a title is 1-{MAX_TITLE} characters")
    return title


def check_secrecy(secrecy: str, osl_paragraph: str | None) -> tuple[Secrecy, str | None]:
    """The secrecy and its OSL paragraph: a (partly) secret document must name one, a public one must not."""
    try:
        level = Secrecy(secrecy)
    except ValueError:
        raise RegistryError("secrecy", f"unknown secrecy {secrecy[:20]!r}") from None
    paragraph = " ".join((osl_paragraph or "").split()) or None
    if level is Secrecy.PUBLIC:
        return level, None
    if paragraph is None or not OSL_PARAGRAPH.fullmatch(paragraph):
        raise RegistryError("osl", "a secret or partly secret document names its OSL paragraph, like '26 kap. 1 §'")
    return level, paragraph


def check_kind(kind: str) -> Kind:
    """A document kind; `RegistryError` ``kind`` otherwise."""
    try:
        return Kind(kind)
    except ValueError:
        raise RegistryError("kind", f"unknown document type {kind[:20]!r}") from None


def check_retention(years: int | None) -> int | None:
    """Keep for ever (None) or weed after 1-100 years."""
    if years is not None and not 1 <= years <= 100:
        raise RegistryError("retention", "weed after 1-100 years, or keep")
    return years


def title_is_public(secrecy: str) -> bool:
    """Whether a document's title and counterpart may be shown outside the hub."""
    return secrecy != Secrecy.SECRET


def file_is_public(secrecy: str, personal_data: bool, has_file: bool) -> bool:
    """Whether a document's file and text may leave the hub (web, API, kiosks)."""
    return has_file and secrecy != Secrecy.SECRET and not personal_data


def weeding_due(document_date: dt.date, retention_years: int | None, today: dt.date) -> dt.date | None:
    """When a document may be weeded (the end of the year its retention ends), or None if it is kept."""
    if retention_years is None:
        return None
    return dt.date(document_date.year + retention_years, 12, 31) if document_date else None


def is_due(document_date: dt.date, retention_years: int | None, today: dt.date) -> bool:
    """Whether the retention period is over at ``today``."""
    due = weeding_due(document_date, retention_years, today)
    return due is not None and due < today


def request_deadline(received_at: dt.datetime) -> dt.datetime:
    """When a request must have been answered: the next working day at the same hour."""
    due = received_at + REQUEST_DEADLINE
    while due.weekday() >= 5:
        due += dt.timedelta(days=1)
    return due


# Words a resident may search a type by (Swedish, as the registry speaks): "beslut" finds every decision.
# Keyed by str: a Document's kind is the plain string, which finds the equal Kind.
KIND_WORDS: dict[str, str] = {
    Kind.INCOMING: "inkommande handling",
    Kind.OUTGOING: "utgående handling",
    Kind.DECISION: "beslut",
    Kind.MINUTES: "protokoll",
    Kind.AGENDA: "kallelse dagordning",
    Kind.NOTICE: "kungörelse tillkännagivande",
    Kind.MEMO: "tjänsteskrivelse",
}
