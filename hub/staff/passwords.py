"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106's recommendations)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # hashing megabytes of "password" on request would be a cheap denial of service

# Module level so that tests can swap in a cheaper hasher; production keeps these defaults.
HASHER = PasswordHasher()

# Verified against when the username is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY_HASH: str | None = None


class WeakPassword(ValueError):
    """A new password does not meet the policy; the message says how."""


def check_policy(password: str) -> None:
    """Raise `WeakPassword` unless ``password`` is acceptable for a staff account."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"the password must be at most {MAX_PASSWORD_LENGTH} characters long")


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salt and parameters included)."""
    return HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; with no hash (unknown user) the same work is done, then False."""
    global _DUMMY_HASH
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    if password_hash is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = HASHER.hash("not a real password, only for timing")
        password_hash = _DUMMY_HASH
        password = password + "\0"  # never matches the dummy
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than the current ones."""
    return HASHER.check_needs_rehash(password_hash)
