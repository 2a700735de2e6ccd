"""The test vectors in docs/vectors/, generated deterministically from fixed seeds.

Regenerate after a deliberate format change with ``.venv/bin/python -m tests.support.vectors`` and say so in the
commit; tests/contract/test_ballot_vectors.py fails whenever the code would produce different bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from protocol import codec
from protocol.ballots import ballot, group, poll, proofs
from tests.support.elections import cast_all, new_election, record_of, seeded

VECTORS = Path(__file__).resolve().parent.parent.parent / "docs" / "vectors"
RULES = poll.approval("vector-poll-2026", ("park", "pool", "library", "bridge", "harbour"), 1, 3)
SELECTED = frozenset({1, 3})


def generate() -> dict[str, bytes]:
    """File name -> exact bytes."""
    election = new_election(RULES, threshold=2, trustees=3, seed="vectors/keygen")
    key = election.key.public_key
    cast = ballot.cast_ballot(RULES, key, SELECTED, seeded("vectors/ballot"))
    draw = seeded("vectors/ballot")
    nonces = [group.to_hex(draw()) for _ in RULES.options]  # cast_ballot draws the option nonces first
    statement = {"poll": RULES.poll_id, "ballot": [c.to_json() for c in cast.ciphertexts], "subject": "option/0"}
    casts = [
        ("voter-a", 1_767_225_600_000, frozenset({0})),
        ("voter-b", 1_767_225_660_000, frozenset({1, 2})),
        ("voter-a", 1_767_225_720_000, frozenset({2, 3, 4})),
        ("voter-c", 1_767_225_500_000, frozenset({4})),
    ]
    rng = seeded("vectors/record")
    lines = record_of(election, cast_all(election, casts, rng, rejected=1), (1, 3), rng)
    record = b"".join(lines)
    result = codec.decode(lines[-1].rstrip(b"\n"), max_size=1 << 20)["result"]
    wrong = {**result, "counts": [result["counts"][0] + 1, *result["counts"][1:]]}
    tampered = record.replace(codec.encode(result), codec.encode(wrong))
    vectors = {
        "about": "Tinget ballot cryptography test vectors (docs/verification.md). All hex is lower case.",
        "group": {
            "generator": group.to_hex(group.GENERATOR),
            "order": str(group.ORDER),
            "multiples": {str(n): group.to_hex(group.small_multiple(n)) for n in (2, 3, 1000)},
            "refused_points": [
                "00" * 32,
                "ff" * 32,
                "01" + "00" * 31,
                "ed" + "ff" * 30 + "7f",
                group.to_hex(group.GENERATOR)[:-2] + "f6",  # G with bit 255 set: libsodium alone would take it
            ],
        },
        "challenge": {
            "domain": proofs.RANGE_DOMAIN,
            "statement": {"poll": RULES.poll_id, "subject": "example"},
            "encoded": codec.encode(
                {"domain": proofs.RANGE_DOMAIN, "poll": RULES.poll_id, "subject": "example"}
            ).decode(),
            "scalar": group.to_hex(
                group.hash_to_scalar(proofs.RANGE_DOMAIN, {"poll": RULES.poll_id, "subject": "example"})
            ),
        },
        "poll": RULES.to_json(),
        "keygen": election.key.to_json(),
        "ballot": {
            "selected": sorted(SELECTED),
            "nonces": nonces,
            "json": cast.to_json(),
            "tracking": cast.tracking_hash,
            "short_code": ballot.short_code(cast.tracking_hash),
            "option_0_statement": statement,
        },
        "record": {
            "file": "election-record-v2.jsonl",
            "sha256": hashlib.sha256(record).hexdigest(),
            "counts": result["counts"],
            "counted": result["counted"],
            "tampered_file": "election-record-v2-tampered.jsonl",
            "tampered_failure": "the published count for option 0 (park) is not what the trustees decrypted",
        },
    }
    return {
        "ballots-v2.json": codec.encode(vectors) + b"\n",
        "election-record-v2.jsonl": record,
        "election-record-v2-tampered.jsonl": tampered,
    }


if __name__ == "__main__":
    VECTORS.mkdir(parents=True, exist_ok=True)
    for name, data in generate().items():
        (VECTORS / name).write_bytes(data)
        print(f"wrote {VECTORS / name} ({len(data):,} bytes)")
