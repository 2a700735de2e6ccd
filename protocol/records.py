"""The ``document-request`` action: what a kiosk sends when someone asks for a document, as the hub reads it.

A request is anonymous; its body holds a reference the kiosk shows the asker at once (so it works offline),
optionally the document and case it is about, what the person wrote, and a contact if they chose to leave
one. The hub refuses anything else (docs/protocol.md).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

DOCUMENT_REQUEST = "document-request"
REFERENCE = re.compile(r"[A-Z0-9]{4}-[A-Z0-9]{4}")
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read aloud over the phone
MAX_DESCRIPTION = 2000
MAX_CONTACT = 300
BODY_KEYS = frozenset({"reference", "document_id", "case_number", "description", "contact"})


def holds_personnummer(text: str) -> bool:
    """Whether ``text`` holds something that looks like a personnummer (which must never enter a payload, SEC-14)."""
    from protocol.logs import redact

    return redact(text) != text


def new_reference() -> str:
    """A reference the asker is shown, like ``K7QM-4XTA``."""
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def request_body(
    reference: str,
    *,
    document_id: int | None = None,
    case_number: str | None = None,
    description: str = "",
    contact: str | None = None,
) -> dict[str, Any]:
    """The action body; `ValueError` if a member breaks the rules above."""
    if not REFERENCE.fullmatch(reference):
        raise ValueError("reference must look like K7QM-4XTA")
    if len(description) > MAX_DESCRIPTION or (contact is not None and len(contact) > MAX_CONTACT):
        raise ValueError("description or contact is too long")
    if holds_personnummer(description) or (contact is not None and holds_personnummer(contact)):
        raise ValueError("a request never carries a personnummer (SEC-14)")
    body: dict[str, Any] = {"reference": reference, "description": description}
    if document_id is not None:
        body["document_id"] = document_id
    if case_number:
        body["case_number"] = case_number
    if contact:
        body["contact"] = contact
    return body
