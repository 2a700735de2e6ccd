"""What a ballot in a poll must satisfy: its options, its counting method and its re-vote rule.

Methods: ``single`` (exactly one option), ``yes-no-abstain`` (exactly one of the three options ``yes``, ``no``,
``abstain``) and ``approval`` (between ``min_selections`` and ``max_selections`` options). Re-vote rules:
``latest`` (the ballot cast last counts, the default: it defeats coercion at one kiosk) or ``first``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from protocol import codec

METHODS = ("single", "yes-no-abstain", "approval")
REVOTE_RULES = ("latest", "first")
YES_NO_ABSTAIN = ("yes", "no", "abstain")
MAX_OPTIONS = 64
"""More options than this is refused: a ballot's size and its proofs grow with the options."""


class PollError(ValueError):
    """Poll parameters that cannot be used; the message says which rule they break."""


@dataclass(frozen=True, slots=True)
class PollRules:
    """The public parameters of a secret poll that ballots, the tally and the verifier all depend on."""

    poll_id: str
    options: tuple[str, ...]
    method: str
    min_selections: int
    max_selections: int
    revote: str = "latest"

    def __post_init__(self) -> None:
        if not self.poll_id or not isinstance(self.poll_id, str):
            raise PollError("a poll needs an id")
        if not 1 <= len(self.options) <= MAX_OPTIONS or len(set(self.options)) != len(self.options):
            raise PollError(f"a poll has 1 to {MAX_OPTIONS} options, each named once")
        if not all(isinstance(o, str) and o for o in self.options):
            raise PollError("every option needs a non-empty name")
        if self.method not in METHODS:
            raise PollError(f"the method must be one of {', '.join(METHODS)}")
        if self.revote not in REVOTE_RULES:
            raise PollError(f"the re-vote rule must be one of {', '.join(REVOTE_RULES)}")
        bounds_ok = 0 <= self.min_selections <= self.max_selections <= len(self.options) and self.max_selections > 0
        if not bounds_ok:
            raise PollError("the number of selections must satisfy 0 ≤ minimum ≤ maximum ≤ options, maximum ≥ 1")
        if self.method != "approval" and (self.min_selections, self.max_selections) != (1, 1):
            raise PollError(f"a {self.method} poll takes exactly one selection")
        if self.method == "yes-no-abstain" and self.options != YES_NO_ABSTAIN:
            raise PollError("a yes-no-abstain poll has the options yes, no, abstain in that order")
        bad_text = codec.problem(self.to_json())
        if bad_text:
            raise PollError(f"poll parameters cannot be encoded canonically: {bad_text}")

    @property
    def limits_selections(self) -> bool:
        """True when the sum of selections needs its own proof (the bit proofs alone allow 0..options)."""
        return self.min_selections > 0 or self.max_selections < len(self.options)

    def allows(self, selected: frozenset[int]) -> bool:
        """True when choosing the options at these indices is a valid ballot."""
        return all(0 <= i < len(self.options) for i in selected) and (
            self.min_selections <= len(selected) <= self.max_selections
        )

    def to_json(self) -> dict[str, Any]:
        """The wire form (docs/verification.md, "Poll")."""
        return {
            "poll": self.poll_id,
            "options": list(self.options),
            "method": self.method,
            "min": self.min_selections,
            "max": self.max_selections,
            "revote": self.revote,
        }

    @classmethod
    def from_json(cls, data: object) -> PollRules:
        """Decode and check poll parameters (raises `PollError`)."""
        keys = {"poll", "options", "method", "min", "max", "revote"}
        if not isinstance(data, dict) or set(data) != keys:
            raise PollError(f"poll parameters must have exactly the fields {', '.join(sorted(keys))}")
        if not isinstance(data["options"], list) or not all(isinstance(i, int) for i in (data["min"], data["max"])):
            raise PollError("poll options must be a list and the limits integers")
        return cls(data["poll"], tuple(data["options"]), data["method"], data["min"], data["max"], data["revote"])


def single_choice(poll_id: str, options: tuple[str, ...], revote: str = "latest") -> PollRules:
    """A poll where exactly one option is chosen."""
    return PollRules(poll_id, options, "single", 1, 1, revote)


def yes_no_abstain(poll_id: str, revote: str = "latest") -> PollRules:
    """A poll of yes, no or abstain."""
    return PollRules(poll_id, YES_NO_ABSTAIN, "yes-no-abstain", 1, 1, revote)


def approval(poll_id: str, options: tuple[str, ...], minimum: int, maximum: int, revote: str = "latest") -> PollRules:
    """A poll where between ``minimum`` and ``maximum`` options are chosen."""
    return PollRules(poll_id, options, "approval", minimum, maximum, revote)
