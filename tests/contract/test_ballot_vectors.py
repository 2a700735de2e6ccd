"""The ballot test vectors in docs/vectors/: the code still produces them byte for byte, and they say what
docs/verification.md says (a third party's verifier is tested against the same files)."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from protocol import codec
from protocol.ballots import ballot, elgamal, group, keygen, poll, verify
from tests.support.vectors import VECTORS, generate


@pytest.fixture(scope="module")
def vectors() -> dict[str, object]:
    return json.loads((VECTORS / "ballots-v2.json").read_text())


def test_the_committed_vectors_are_exactly_what_the_code_generates() -> None:
    """Regenerate with `.venv/bin/python -m tests.support.vectors` after a deliberate format change."""
    for name, data in generate().items():
        assert (VECTORS / name).read_bytes() == data, f"docs/vectors/{name} is stale"


def test_the_vector_record_verifies_and_its_tampered_twin_fails_as_stated(vectors: dict) -> None:
    """SEC-09: the shipped record holds; the shipped tampered one fails with the documented message."""
    verified = verify.verify_file(VECTORS / vectors["record"]["file"])
    assert list(verified.counts) == vectors["record"]["counts"]
    assert hashlib.sha256((VECTORS / vectors["record"]["file"]).read_bytes()).hexdigest() == vectors["record"]["sha256"]
    with pytest.raises(verify.RecordProblem, match=re.escape(vectors["record"]["tampered_failure"])):
        verify.verify_file(VECTORS / vectors["record"]["tampered_file"])


def test_the_vectors_agree_with_the_documented_formulas(vectors: dict) -> None:
    g = vectors["group"]
    assert g["generator"] == group.to_hex(group.base_mult(group.scalar_from_int(1)))
    for point in g["refused_points"]:
        with pytest.raises(group.GroupError):
            group.point_from_hex(point)
    c = vectors["challenge"]
    digest = hashlib.sha512(c["encoded"].encode()).digest()
    assert (int.from_bytes(digest, "little") % group.ORDER).to_bytes(32, "little").hex() == c["scalar"]
    rules = poll.PollRules.from_json(vectors["poll"])
    key = keygen.ElectionKey.from_json(vectors["keygen"]).public_key
    b = vectors["ballot"]
    cast = ballot.Ballot.from_json(b["json"], rules)
    assert hashlib.sha256(codec.encode(b["json"])).hexdigest() == b["tracking"] == cast.tracking_hash
    assert ballot.short_code(b["tracking"]) == b["short_code"]
    assert ballot.ballot_problem(rules, key, cast) is None
    for i, (nonce, ciphertext) in enumerate(zip(b["nonces"], cast.ciphertexts, strict=True)):
        expected = elgamal.encrypt_with_nonce(key, int(i in b["selected"]), group.scalar_from_hex(nonce))
        assert expected == ciphertext
    # Option 0's proof, by the documented formulas with libsodium alone: sᵥ·G = Aᵥ + cᵥ·a, sᵥ·H = Bᵥ + cᵥ·(b − v·G).
    a, b_point = cast.ciphertexts[0].a, cast.ciphertexts[0].b
    for v, (commit_a, commit_b, c, s) in enumerate(cast.options[0].proof.branches):
        shifted = group.sub(b_point, group.small_multiple(v)) if v else b_point
        assert group.base_mult(s) == group.add(commit_a, group.mult(c, a))
        assert group.mult(s, key) == group.add(commit_b, group.mult(c, shifted))
