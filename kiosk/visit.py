"""A resident's visit at the kiosk: what it may remember, and when it is over. Plain domain code.

A visit ends after ``idle_seconds`` without activity, and the next person starts from the start screen in the
default language with nothing of the last visit left (DOS-lagen / WCAG: no timing traps, so the UI warns
first).
"""

from __future__ import annotations

TEXT_SIZES: tuple[str, ...] = ("normal", "large", "larger")
"""The text size steps the resident can choose (A, A+, A++); the first is the default."""

DEFAULT_TEXT_SIZE = TEXT_SIZES[0]


def is_stale(last_seen: float | None, now: float, idle_seconds: int) -> bool:
    """Whether a visit last active at ``last_seen`` (epoch seconds) is over at ``now``.

    A visit with no recorded activity is not stale: it has only just begun.
    """
    if last_seen is None:
        return False
    return now - last_seen > idle_seconds


def safe_next_path(candidate: str | None, fallback: str = "/") -> str:
    """``candidate`` if it is a path on this site (``/…``), else ``fallback``: a form's "come back here" field
    must never send the resident to another host."""
    if not candidate or not candidate.startswith("/") or candidate.startswith(("//", "/\\")):
        return fallback
    if any(ch in candidate for ch in "\r\n\t\\"):
        return fallback
    return candidate
