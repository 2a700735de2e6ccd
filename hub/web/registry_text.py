"""The registry's errors and names in the reader's language (the domain's own messages are English, for logs)."""

from __future__ import annotations

from flask_babel import gettext as _

from hub.registry.rules import RegistryError


def explain(exc: RegistryError) -> str:
    """A registrar's or resident's message for a refused registry action."""
    messages: dict[str, str] = {
        "duplicate": _("That case number is already registered; numbers are never reused."),
        "case_number": _("A case number looks like KS 2026/123."),
        "board": _("A board is 1-6 capital letters, such as KS or BN."),
        "title": _("Give a title of at most 500 characters."),
        "osl": _("A secret or partly secret document names its OSL paragraph, like 26 kap. 1 §."),
        "kind": _("Choose a document type."),
        "retention": _("Weed after 1-100 years, or leave empty to keep."),
        "type": _("Only PDF, Word (.docx), OpenDocument (.odt) and text files can be registered."),
        "type_lies": _("The file is not what its name says (%(detail)s). Register the real file.", detail=str(exc)),
        "encrypted": _("The PDF is locked with a password. Register an unlocked copy."),
        "corrupt": _("The file is damaged and cannot be read. Register an undamaged copy."),
        "empty": _("The file is empty."),
        "size": _("The file is too large (%(detail)s).", detail=str(exc)),
        "not_found": _("There is no such document in the public registry."),
        "description": _("Say which document you would like to see."),
        "dates": _("The take-down date must come after the posting date."),
        "reason": _("Say why the documents are weeded."),
        "not_due": _("A document that is not due cannot be weeded: %(detail)s", detail=str(exc)),
    }
    return messages.get(exc.code, str(exc))


def kind_name(kind: str) -> str:
    """A document type's name."""
    names: dict[str, str] = {
        "incoming": _("Incoming"),
        "outgoing": _("Outgoing"),
        "decision": _("Decision"),
        "minutes": _("Minutes"),
        "agenda": _("Agenda"),
        "notice": _("Notice"),
        "memo": _("Memo"),
    }
    return names.get(kind, kind)


def secrecy_name(secrecy: str) -> str:
    """A secrecy level's name."""
    names: dict[str, str] = {"public": _("Public"), "partial": _("Partly secret"), "secret": _("Covered by secrecy")}
    return names.get(secrecy, secrecy)


def status_name(status: str) -> str:
    """A request status's name."""
    names: dict[str, str] = {
        "new": _("New"),
        "handling": _("Being handled"),
        "granted": _("Granted"),
        "partly": _("Partly granted"),
        "refused": _("Refused"),
    }
    return names.get(status, status)


def template_helpers() -> dict[str, object]:
    """Names the registry templates use."""
    return {"kind_name": kind_name, "secrecy_name": secrecy_name, "status_name": status_name}
