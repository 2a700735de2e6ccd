"""The proofs: complete for honest provers, sound against the forgeries a cheating kiosk or trustee would try,
and bound by strong Fiat–Shamir to every public input (the weak transform broke Helios in 2012)."""

from __future__ import annotations

import pytest

from protocol.ballots import elgamal, group, proofs, public_arithmetic
from protocol.ballots.proofs import RangeProof

STATEMENT = {"poll": "poll-1", "subject": "option/0"}


@pytest.fixture
def key() -> group.Point:
    return group.base_mult(group.random_scalar())


@pytest.mark.parametrize("value", [0, 1, 2, 3])
def test_an_honest_range_proof_holds_for_every_value_in_range(key: group.Point, value: int) -> None:
    ciphertext, nonce = elgamal.encrypt(key, value)
    proof = proofs.prove_range(STATEMENT, key, ciphertext, nonce, value, 0, 3)
    assert proofs.check_range(STATEMENT, key, ciphertext, proof, 0, 3)
    assert not proofs.check_range(STATEMENT, key, ciphertext, proof, 1, 4)


def test_a_ciphertext_of_two_gets_no_valid_zero_or_one_proof(key: group.Point) -> None:
    """A cheating kiosk proves its 2 is a 1 (the real branch uses the wrong value): the proof fails."""
    ciphertext, nonce = elgamal.encrypt(key, 2)
    for claimed in (0, 1):
        proof = proofs.prove_range(STATEMENT, key, ciphertext, nonce, claimed, 0, 1)
        assert not proofs.check_range(STATEMENT, key, ciphertext, proof, 0, 1)
    with pytest.raises(ValueError):
        proofs.prove_range(STATEMENT, key, ciphertext, nonce, 2, 0, 1)


def test_a_range_proof_is_bound_to_every_public_input(key: group.Point) -> None:
    """Strong Fiat–Shamir: the same proof fails for another poll, subject, key, ciphertext or range."""
    ciphertext, nonce = elgamal.encrypt(key, 1)
    proof = proofs.prove_range(STATEMENT, key, ciphertext, nonce, 1, 0, 1)
    other, _ = elgamal.encrypt(key, 1)
    assert proofs.check_range(STATEMENT, key, ciphertext, proof, 0, 1)
    assert not proofs.check_range({**STATEMENT, "poll": "poll-2"}, key, ciphertext, proof, 0, 1)
    assert not proofs.check_range({**STATEMENT, "subject": "option/1"}, key, ciphertext, proof, 0, 1)
    assert not proofs.check_range(STATEMENT, group.base_mult(group.random_scalar()), ciphertext, proof, 0, 1)
    assert not proofs.check_range(STATEMENT, key, other, proof, 0, 1)


def test_a_tampered_commitment_challenge_or_response_fails(key: group.Point) -> None:
    ciphertext, nonce = elgamal.encrypt(key, 0)
    proof = proofs.prove_range(STATEMENT, key, ciphertext, nonce, 0, 0, 1)
    (a0, b0, c0, s0), (a1, b1, c1, s1) = proof.branches
    one = group.scalar_from_int(1)
    for branches in [
        ((a0, b0, group.scalar_add(c0, one), s0), (a1, b1, group.scalar_sub(c1, one), s1)),  # sum still c
        ((a0, b0, c0, group.scalar_add(s0, one)), (a1, b1, c1, s1)),
        ((a0, b0, c0, s0), (a1, b1, c1, group.scalar_add(s1, one))),  # the simulated branch
        ((group.add(a0, group.GENERATOR), b0, c0, s0), (a1, b1, c1, s1)),
        ((a0, b1, c0, s0), (a1, b0, c1, s1)),
        ((a1, b1, c1, s1), (a0, b0, c0, s0)),
    ]:
        assert not proofs.check_range(STATEMENT, key, ciphertext, RangeProof(branches), 0, 1)


def test_equations_that_do_not_hold_are_found_whatever_the_batch_holds_besides(key: group.Point) -> None:
    """The batch check: one false equation among many true ones fails the whole batch."""
    ciphertext, nonce = elgamal.encrypt(key, 1)
    good = proofs.prove_range(STATEMENT, key, ciphertext, nonce, 1, 0, 1)
    (a0, b0, c0, s0), second = good.branches
    bad = RangeProof(((a0, b0, c0, group.scalar_add(s0, group.scalar_from_int(1))), second))
    for proof, holds in ((good, True), (bad, False)):
        equations = public_arithmetic.Equations()
        for _ in range(5):
            for terms in proofs.range_equations(key, ciphertext, good, 0):
                equations.add(terms)
        for terms in proofs.range_equations(key, ciphertext, proof, 0):
            equations.add(terms)
        assert len(equations) == 24  # six proofs, two branches, two equations each
        assert equations.hold() is holds


def test_a_proof_for_one_key_cannot_be_replayed_under_a_key_the_prover_chose() -> None:
    """The Helios 2012 attack: with the key outside the hash, a prover could pick the key after the challenge."""
    secret = group.random_scalar()
    key = group.base_mult(secret)
    ciphertext, nonce = elgamal.encrypt(key, 1)
    proof = proofs.prove_range(STATEMENT, key, ciphertext, nonce, 1, 0, 1)
    assert "key" in proofs._range_challenge.__code__.co_varnames  # the key is an input of the challenge
    assert not proofs.check_range(STATEMENT, group.add(key, group.GENERATOR), ciphertext, proof, 0, 1)


def test_knowledge_proofs_hold_only_for_their_statement_and_key() -> None:
    secret = group.random_scalar()
    proof = proofs.prove_knowledge(STATEMENT, secret)
    assert proofs.check_knowledge(STATEMENT, group.base_mult(secret), proof)
    assert not proofs.check_knowledge({**STATEMENT, "poll": "x"}, group.base_mult(secret), proof)
    assert not proofs.check_knowledge(STATEMENT, group.base_mult(group.random_scalar()), proof)


def test_decryption_proofs_show_the_same_secret_behind_the_share_and_the_public_key() -> None:
    secret = group.random_scalar()
    public = group.base_mult(secret)
    base = group.base_mult(group.random_scalar())
    share, proof = proofs.prove_decryption(STATEMENT, secret, base)
    assert proofs.check_decryption(STATEMENT, public, base, share, proof)
    wrong = group.add(share, group.GENERATOR)
    assert not proofs.check_decryption(STATEMENT, public, base, wrong, proof)
    assert not proofs.check_decryption({**STATEMENT, "trustee": 2}, public, base, share, proof)


def test_malformed_proofs_are_refused_with_a_proof_error() -> None:
    with pytest.raises(proofs.ProofError):
        RangeProof.from_json([["00" * 32, "00" * 32]], 2)
    with pytest.raises(proofs.ProofError):
        proofs.KnowledgeProof.from_json(["00" * 32])
    with pytest.raises(group.GroupError):
        proofs.DecryptionProof.from_json(["zz" * 32, "00" * 32])
