"""What the ``polls`` and ``roll`` sets carry (`protocol.polls`): every open secret poll as a `PollNotice` with the
hub's seal key, every open named poll as a `NamedPollNotice`, and each open secret poll's roll of pseudonyms with
who has voted. Built by `hub.sets.service.build_bodies`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hub.polls import board as hub_board
from hub.polls.drafts import drafts_labels, key_of, list_polls, ms, roles_of, rules_of
from hub.polls.keys import roll_key, seal_key
from hub.polls.models import Poll
from hub.polls.roll import roll_pseudonyms
from hub.settings import HubSettings
from protocol.polls import NamedPollNotice, PollNotice, PollRoll, PollsSet, roll_to_json


def board_url(settings: HubSettings, poll_id: str) -> str:
    """The public page of a poll's board (receipts point there, with ``?kod=``)."""
    return f"{settings.public_url.rstrip('/')}/val/{poll_id}"


def notice_of(settings: HubSettings, poll: Poll) -> PollNotice:
    """An open poll as kiosks see it."""
    title = {"sv": poll.title_sv, **({"en": poll.title_en} if poll.title_en else {})}
    description = {"sv": poll.description_sv, **({"en": poll.description_en} if poll.description_en else {})}
    return PollNotice(
        rules=rules_of(poll),
        key=key_of(poll),
        title=title,
        description=description,
        opens_at=ms(poll.opens_at),
        closes_at=ms(poll.closes_at),
        roll_key=roll_key(settings, poll.id),
        min_age=poll.min_age,
        board_url=board_url(settings, poll.id),
        option_labels=drafts_labels(poll),
    )


def named_notice_of(settings: HubSettings, poll: Poll) -> NamedPollNotice:
    """An open named poll as kiosks see it (D77)."""
    title = {"sv": poll.title_sv, **({"en": poll.title_en} if poll.title_en else {})}
    description = {"sv": poll.description_sv, **({"en": poll.description_en} if poll.description_en else {})}
    return NamedPollNotice(
        rules=rules_of(poll),
        title=title,
        description=description,
        opens_at=ms(poll.opens_at),
        closes_at=ms(poll.closes_at),
        roles=tuple(roles_of(poll)),
        board_url=board_url(settings, poll.id),
        option_labels=drafts_labels(poll),
    )


def polls_content(settings: HubSettings, session: Session) -> dict[str, Any]:
    """The ``polls`` set's content: the open secret polls, and the open named polls."""
    open_polls = list_polls(session, "open")
    notices = tuple(notice_of(settings, poll) for poll in open_polls if poll.secret)
    named = tuple(named_notice_of(settings, poll) for poll in open_polls if not poll.secret)
    return PollsSet(seal_key(settings).public, notices, named).to_json()


def roll_content(session: Session) -> dict[str, Any]:
    """The ``roll`` set's content: per open secret poll, the eligible and the voted pseudonyms."""
    rolls = {
        poll.id: PollRoll(roll_pseudonyms(session, poll.id), hub_board.voted(session, poll.id))
        for poll in list_polls(session, "open")
        if poll.secret
    }
    return roll_to_json(rolls)
