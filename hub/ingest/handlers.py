"""What an action does at the hub, by its kind: a small registry of handlers.

A handler runs once per action, only when the action is new, inside the ingest's transaction (so its side
effects commit together with the action, or not at all). It refuses an action by raising `ActionRefused`
with a reason: the action is then kept as "refused", its side effects are rolled back, and the kiosk still
gets its ack. Issues register theirs in `default_handlers` (card events, document requests, ballots — the last
needs the hub's settings); a kind without a handler is unknown and recorded as refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from hub.settings import HubSettings


class ActionRefused(Exception):
    """The hub's rules refuse this action; the message is the reason kept with it (and shown to staff)."""


class ActionUnchecked(ActionRefused):
    """The hub cannot check this action now (a CA file, seal key or revocation list is missing or unreadable).

    Kept like a refusal, but with the status "unchecked", so that `tinget hub poll recheck` finds exactly these
    once the configuration is fixed.
    """


@dataclass(frozen=True, slots=True)
class ActionContext:
    """An action as a handler sees it: who sent it, what it is, and its decoded body."""

    device_id: str
    msg_id: str
    kind: str
    created_at_ms: int
    body: Mapping[str, Any]


Handler = Callable[[Session, ActionContext], None]


class Handlers:
    """Handlers by action kind. Registering a kind twice is a programming error."""

    def __init__(self) -> None:
        self._by_kind: dict[str, Handler] = {}

    def register(self, kind: str, handler: Handler) -> None:
        """Add the handler for ``kind``."""
        if kind in self._by_kind:
            raise ValueError(f"a handler for action kind {kind!r} is already registered")
        self._by_kind[kind] = handler

    def find(self, kind: str) -> Handler | None:
        """The handler for ``kind``, or None when the hub does not know the kind."""
        return self._by_kind.get(kind)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._by_kind))


def default_handlers(settings: HubSettings | None = None) -> Handlers:
    """The handlers the ingest process runs with. Later issues add theirs here. Ballots need the hub's
    settings (device CA, e-ID trust, poll keys): without ``settings`` they stay an unknown kind."""
    from hub.audit import card_events  # imported here: these modules import this one
    from hub.registry import requests as document_requests

    handlers = Handlers()
    handlers.register(card_events.KIND, card_events.record_card_event)
    handlers.register(document_requests.KIND, document_requests.handle_kiosk_request)
    if settings is not None:
        from hub.polls import ballots, named

        handlers.register(ballots.KIND, ballots.BallotHandler(settings))
        handlers.register(named.KIND, named.NamedBallotHandler(settings))
    return handlers


def unknown_kind_reason(kind: str) -> str:
    """Why an action of a kind without a handler is refused."""
    return f"unknown action kind {kind!r}: this hub has no handler for it"
