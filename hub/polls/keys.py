"""The hub's own poll secrets: the roll secret every poll's pseudonym key derives from (`roll_key_for`), and the
X25519 key pair a voter's certificate is sealed to inside an envelope (`protocol.polls.open_certificate`).

The hub makes both itself on first use, as 0600 files (``poll_roll_secret_file``, ``poll_seal_key_file``): no
one else ever needs them. Losing the roll secret makes every open poll's roll unusable; back both up with the
database.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.settings import HubSettings
from protocol.polls import roll_key_for
from protocol.settings import ConfigError, ensure_secret


@dataclass(frozen=True, slots=True, repr=False)
class SealKey:
    """The hub's sealed-box key pair; ``repr`` leaves the secret out."""

    public: bytes
    secret: bytes

    def __repr__(self) -> str:
        return f"SealKey(public={self.public.hex()[:16]}…)"


def roll_secret(settings: HubSettings) -> bytes:
    """The hub's roll secret (created on first use)."""
    assert settings.poll_roll_secret_file is not None  # filled in by HubSettings
    return ensure_secret(settings.poll_roll_secret_file, what="poll roll secret")


def roll_key(settings: HubSettings, poll_id: str) -> bytes:
    """The pseudonym key of one poll."""
    return roll_key_for(roll_secret(settings), poll_id)


def seal_key(settings: HubSettings) -> SealKey:
    """The hub's seal key pair (created on first use)."""
    import pysodium  # libsodium, loaded when first needed

    assert settings.poll_seal_key_file is not None
    text = ensure_secret(settings.poll_seal_key_file, what="poll seal key")
    try:
        secret = bytes.fromhex(text.decode("ascii"))
    except ValueError:
        raise ConfigError(f"poll seal key file {settings.poll_seal_key_file} is not hex") from None
    if len(secret) != 32:
        raise ConfigError(f"poll seal key file {settings.poll_seal_key_file} must hold 32 bytes (64 hex digits)")
    return SealKey(bytes(pysodium.crypto_scalarmult_curve25519_base(secret)), secret)
