"""The named poll's record vector in docs/vectors/ (tests/support/named_vectors.py): it verifies, and its
tampered twin fails with the stated message (a third party's verifier is tested against the same files)."""

from __future__ import annotations

import pytest

from protocol.ballots import verify
from tests.support.named_vectors import FILE, TAMPERED, TAMPERED_FAILURE
from tests.support.vectors import VECTORS


def test_the_named_vector_record_verifies_and_its_tampered_twin_fails_as_stated() -> None:
    """SEC-09 for named polls: names, card certificates and signatures, re-vote rule and sums hold."""
    verified = verify.verify_file(VECTORS / FILE)
    assert (verified.counts, verified.counted, verified.entries) == ((1, 1, 3), 3, 5)
    with pytest.raises(verify.RecordProblem, match=TAMPERED_FAILURE):
        verify.verify_file(VECTORS / TAMPERED)
