"""The polls' names and refusals in the reader's language (the domain's own messages are English, for logs and
the CLI), and the Markdown of a poll's description rendered safely."""

from __future__ import annotations

import functools
import re

from flask_babel import gettext as _
from markupsafe import Markup

from hub.polls.drafts import PollError

# The service's refusals an officer or trustee meets on the pages, by pattern: the first that matches explains.
# Anything else is shown as the service wrote it (English) after a translated lead-in, never as an error page.
_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"no election key yet", "no_key"),
    (r"has an empty roll", "empty_roll"),
    (r"closing time has passed", "closing_passed"),
    (r"^poll \S+ is (\w+): it cannot be", "state"),
    (r"^there is already a poll", "taken"),
    (r"^a poll id is", "poll_id"),
    (r"must open before it closes", "schedule"),
    (r"^every option needs a Swedish label", "option_label"),
    (r"^a yes-no-abstain poll has", "yes_no"),
    (r"^no staff account", "no_staff"),
    (r"^trustees: need 1 ≤ threshold ≤ trustees", "threshold"),
    (r"^trustees: every trustee needs a distinct", "distinct"),
    (r"^the key ceremony has begun", "ceremony_begun"),
    (r"^round \w+ opens when", "round_closed"),
    (r"is already in", "already_in"),
    (r"you are not that trustee", "not_you"),
    (r"another board", "other_board"),
    (r"^the roll file is not UTF-8", "roll_text"),
    (r"^the roll file is larger", "roll_size"),
    (r"cannot be read as CSV", "roll_csv"),
    (r"^not a key ceremony file", "not_round_file"),
    (r"set eid_staff_ca_file$", "no_staff_cas"),
    (r"^eid_staff_ca_file cannot be read", "staff_cas_unreadable"),
)


def explain(exc: PollError) -> str:
    """An officer's or trustee's message for a refused poll action."""
    text = str(exc)
    messages: dict[str, str] = {
        "no_key": _("The trustees' key ceremony has not completed: the poll has no election key yet."),
        "empty_roll": _("The voter roll is empty: upload the roll first."),
        "closing_passed": _("The closing time has passed: change the schedule first."),
        "taken": _("There is already a poll with that id; choose another."),
        "poll_id": _("A poll id is 2-63 lower-case letters, digits and hyphens, starting with a letter or digit."),
        "schedule": _("The poll must open before it closes."),
        "option_label": _("Every option needs a Swedish label."),
        "yes_no": _("A yes-no-abstain poll has the options yes, no and abstain (leave the options empty)."),
        "no_staff": _("Trustees are staff members of the hub: one of the usernames has no account."),
        "threshold": str(_("k must be at least 1 and at most the number of trustees.")),
        "distinct": str(_("Name each trustee once.")),
        "ceremony_begun": _("The key ceremony has begun: reset it before changing the trustees."),
        "round_closed": _("This round opens when every trustee's file of the round before is in."),
        "already_in": _("That file is already in; each file is uploaded once."),
        "not_you": _("The file belongs to another trustee: upload only your own file."),
        "other_board": _("The file decrypts another board: download the closed board again and decrypt it."),
        "roll_text": _("The roll file is not UTF-8 text: save it as CSV (UTF-8)."),
        "roll_size": _("The roll file is too large."),
        "roll_csv": _("The roll file cannot be read as CSV: a line is far too long. Save it as CSV (UTF-8) again."),
        "not_round_file": _("That is not a key ceremony file (announce, deliver or confirm)."),
        "no_staff_cas": _(
            "A named poll's record lists the authorities that issue staff cards, and the hub has none: "
            "set eid_staff_ca_file in the hub's settings, then publish again."
        ),
        "staff_cas_unreadable": _("The hub cannot read eid_staff_ca_file: ask IT to check it, then publish again."),
    }
    for pattern, code in _PATTERNS:
        found = re.search(pattern, text)
        if found:
            if code == "state":
                return str(_("That cannot be done now: the poll is %(state)s.", state=state_name(found.group(1))))
            return messages[code]
    return str(_("The hub refused: %(detail)s", detail=text))


def row_reason(reason: str) -> str:
    """Why a line of the roll file was not taken, in the reader's language (the line itself is never shown)."""
    reasons: dict[str, str] = {
        "check digit": _("the check digit does not match"),
        "does not exist": _("the date of birth does not exist"),
        "in the future": _("the date of birth is in the future"),
        "ten or twelve digits": _("a personnummer has ten or twelve digits"),
        "'+'": _("a '+' is only written with a two-digit year"),
        "twelve digits": _("a personnummer has ten or twelve digits"),
    }
    for words, text in reasons.items():
        if words in reason:
            return str(text)
    return str(_("not a personnummer"))


def board_reason(reason: str) -> str:
    """Why a ballot was rejected, in the reader's language. The board and the election record keep the hub's own
    (English) words, which a verifier compares; this is only how the page says them."""
    reasons: tuple[tuple[str, str], ...] = (
        ("cast outside the poll's opening hours", _("cast outside the poll's opening hours")),
        ("names another kiosk", _("the ballot names another kiosk than the one that sent it")),
        ("the kiosk's signature does not hold", _("the kiosk's signature does not hold")),
        ("the kiosk's certificate", _("the kiosk's certificate is not valid")),
        ("cannot be opened with the hub's seal key", _("the voter's certificate could not be opened")),
        ("the voter's e-ID is refused", _("the voter's e-ID card was not accepted (expired, revoked or unknown)")),
        ("not a resident's e-ID", _("the card is not a resident's e-ID")),
        ("the card's signature does not hold", _("the card's signature does not hold")),
        ("the pseudonym is not the card holder's", _("the ballot does not belong to the card holder")),
        ("not on the roll", _("the voter is not on the roll")),
        ("younger than the poll's age limit", _("the voter is younger than the poll's age limit")),
        ("none of the roles that vote", _("the staff member has none of the roles that vote in this poll")),
        ("not on the staff list", _("the staff member is not on the staff list")),
        ("not the staff card of the employee", _("the card is not the staff card of the employee the ballot names")),
        ("does not issue the municipality's staff cards", _("the card is not one of the municipality's staff cards")),
        ("the card is refused", _("the employee card was not accepted (expired, revoked or unknown)")),
        ("the card's certificate", _("the employee card's certificate could not be read")),
        ("unreadable", _("the ballot could not be read")),
        ("another poll", _("the ballot is for another poll")),
        ("does not fit the poll", _("the ballot does not fit the poll")),
        ("proof", _("a proof in the ballot does not hold")),
    )
    for words, text in reasons:
        if words in reason:
            return str(text)
    return reason


def state_name(state: str) -> str:
    """A poll state's name."""
    names: dict[str, str] = {
        "draft": _("Draft"),
        "open": _("Open for voting"),
        "closed": _("Closed for voting"),
        "tallied": _("Counted"),
        "published": _("Published"),
    }
    return names.get(state, state)


def status_name(status: str) -> str:
    """A board entry's status."""
    names: dict[str, str] = {
        "counted": _("Counted"),
        "superseded": _("Replaced by a later ballot"),
        "rejected": _("Rejected"),
    }
    return names.get(status, status)


def method_name(method: str) -> str:
    """A ballot method's name."""
    names: dict[str, str] = {
        "single": _("One option"),
        "yes-no-abstain": _("Yes, no or abstain"),
        "approval": _("Several options"),
    }
    return names.get(method, method)


def round_name(kind: str) -> str:
    """A key ceremony round's name."""
    names: dict[str, str] = {
        "announce": _("Round 1: announce"),
        "deliver": _("Round 2: deliver shares"),
        "confirm": _("Round 3: confirm"),
    }
    return names.get(kind, kind)


@functools.cache
def _markdown():  # type: ignore[no-untyped-def]
    from markdown_it import MarkdownIt

    # As the kiosk (kiosk/web/voting.py): raw HTML off, and no links or images in a poll's text.
    return MarkdownIt("commonmark", {"html": False}).disable(["link", "image", "autolink"])


def percent(value: float) -> str:
    """A percentage with one decimal in the reader's language (33,3 in Swedish)."""
    from flask_babel import format_decimal

    return str(format_decimal(value, format="0.0"))


def render_markdown(text: str) -> Markup:
    """A poll's description as safe HTML."""
    return Markup(_markdown().render(text))  # noqa: S704  # raw HTML is off: markdown-it escapes what it emits


def template_helpers() -> dict[str, object]:
    """Names the poll templates use."""
    return {
        "state_name": state_name,
        "entry_status_name": status_name,
        "method_name": method_name,
        "round_name": round_name,
        "row_reason": row_reason,
        "board_reason": board_reason,
        "markdown": render_markdown,
        "percent": percent,
    }
