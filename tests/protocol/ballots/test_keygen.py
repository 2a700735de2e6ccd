"""The trustees' distributed key generation: the key exists only as shares (SEC-05), and every way a trustee or
the hub could cheat in it is caught and named."""

from __future__ import annotations

import pytest

from protocol.ballots import group, keygen, proofs, tally
from protocol.ballots.keygen import Ceremony, KeygenError
from tests.support.elections import run_keygen, seeded

CEREMONY = Ceremony("poll-k", 2, ("anna", "bo", "cy"))


def rounds(ceremony: Ceremony = CEREMONY) -> tuple[dict[int, keygen.TrusteeSecrets], list[keygen.Announcement]]:
    started = {i: keygen.start(ceremony, i) for i in ceremony.indices}
    return {i: s for i, (s, _a) in started.items()}, [a for _s, a in started.values()]


def interpolate(shares: dict[int, group.Scalar]) -> group.Scalar:
    """What k colluding trustees could compute: the private key (only a test ever does this)."""
    total = 0
    for i, share in shares.items():
        total += tally.lagrange_at_zero(i, list(shares)) * group.scalar_to_int(share)
    return group.scalar_from_int(total)


def test_no_single_party_holds_the_key_but_any_k_trustees_together_could() -> None:
    """SEC-05: each trustee ends with one share; one share, or the hub's transcript, is not the key; k are."""
    key, shares = run_keygen(CEREMONY, group.random_scalar)
    public = key.public_key
    for i, share in shares.items():
        assert group.base_mult(share) != public  # no trustee holds the key
        assert group.base_mult(share) == key.verification_key(i)
    for pair in [(1, 2), (1, 3), (2, 3)]:
        assert group.base_mult(interpolate({i: shares[i] for i in pair})) == public
    transcript = str(key.to_json())
    assert all(group.to_hex(s) not in transcript for s in shares.values())


def test_a_trustee_whose_share_does_not_match_its_commitments_is_named() -> None:
    secrets, announcements = rounds()
    sealed = {i: keygen.deliver(CEREMONY, secrets[i], announcements) for i in CEREMONY.indices}
    cheat = keygen.TrusteeSecrets(2, secrets[2].box_public, secrets[2].box_secret, (group.random_scalar(),) * 2)
    sealed[2] = keygen.deliver(CEREMONY, cheat, announcements)
    with pytest.raises(KeygenError, match="share from trustee 2 does not match its commitments"):
        keygen.finish(CEREMONY, secrets[1], announcements, {i: sealed[i][1] for i in (2, 3)})


def test_a_share_sealed_to_someone_else_cannot_be_opened() -> None:
    secrets, announcements = rounds()
    sealed = {i: keygen.deliver(CEREMONY, secrets[i], announcements) for i in CEREMONY.indices}
    with pytest.raises(KeygenError, match="cannot be opened"):
        keygen.finish(CEREMONY, secrets[1], announcements, {2: sealed[2][3], 3: sealed[3][1]})


def test_a_forged_announcement_is_refused() -> None:
    _secrets, announcements = rounds()
    forged = keygen.Announcement(2, announcements[1].box_key, announcements[0].commitments, announcements[1].proof)
    with pytest.raises(KeygenError, match="trustee 2's proof of knowledge does not hold"):
        keygen.check_announcements(CEREMONY, [announcements[0], forged, announcements[2]])
    with pytest.raises(KeygenError, match="every trustee"):
        keygen.check_announcements(CEREMONY, announcements[:2])


def test_a_hub_that_shows_trustees_different_rounds_is_caught_at_completion() -> None:
    """The hub swaps trustee 3's announcement for its own towards trustee 1: the transcripts then differ."""
    secrets, announcements = rounds()
    hub_secrets, hub_announcement = keygen.start(CEREMONY, 3)
    seen_by_1 = [*announcements[:2], hub_announcement]
    assert keygen.transcript_fingerprint(CEREMONY, seen_by_1) != keygen.transcript_fingerprint(CEREMONY, announcements)
    sealed = {i: keygen.deliver(CEREMONY, secrets[i], announcements) for i in (2, 3)}
    sealed_by_hub = keygen.deliver(CEREMONY, hub_secrets, seen_by_1)
    _x1, c1 = keygen.finish(CEREMONY, secrets[1], seen_by_1, {2: sealed[2][1], 3: sealed_by_hub[1]})
    confirmations = [c1]
    for j in (2, 3):
        delivered = {i: keygen.deliver(CEREMONY, secrets[i], announcements)[j] for i in CEREMONY.indices if i != j}
        confirmations.append(keygen.finish(CEREMONY, secrets[j], announcements, delivered)[1])
    with pytest.raises(KeygenError, match="trustee 1 confirmed another transcript"):
        keygen.complete(CEREMONY, announcements, confirmations)


def test_the_transcript_round_trips_and_is_checked_again_when_read() -> None:
    key, _shares = run_keygen(CEREMONY, seeded("keygen-test"))
    assert keygen.ElectionKey.from_json(key.to_json()).public_key == key.public_key
    tampered = key.to_json()
    tampered["public_key"] = group.to_hex(group.GENERATOR)
    with pytest.raises(KeygenError, match="not the sum"):
        keygen.ElectionKey.from_json(tampered)
    with pytest.raises(KeygenError):
        Ceremony("p", 4, ("a", "b", "c"))


def test_an_announced_box_key_that_cannot_be_sealed_to_is_named() -> None:
    secrets, announcements = rounds()
    a = announcements[2]
    statement = keygen._announcement_statement(CEREMONY, 3, bytes(32), a.commitments)
    weak = keygen.Announcement(
        3, bytes(32), a.commitments, proofs.prove_knowledge(statement, secrets[3].coefficients[0])
    )
    with pytest.raises(KeygenError, match="trustee 3's box key cannot be sealed to"):
        keygen.deliver(CEREMONY, secrets[1], [*announcements[:2], weak])
