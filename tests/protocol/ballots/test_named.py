"""Named polls' formats: the plain ballot the card signs, the envelope, the named board and its record, and the
verifier that checks names, certificates, card signatures, the re-vote rule and the sums from the record alone
(SEC-09 for named polls, D77)."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import codec
from protocol.ballots import named, poll, verify
from protocol.ballots.named import NamedBallot, NamedBallotError, NamedEntry, NamedEnvelope
from protocol.ballots.named_verify import verify_named_lines
from protocol.ballots.verify import RecordProblem
from tests.support.eid import Issuer
from tests.support.named import STAFF, device_sign, signed_envelope, staff_card

RULES = poll.approval("personalfest", ("lunch", "middag", "utflykt"), 1, 2)
DEVICE_KEY = ec.generate_private_key(ec.SECP256R1())
T = int(time.time() * 1000)  # a time for decoding tests; signed ballots take theirs after their card is issued
Lines = list[dict[str, Any]]


def board_of(envelopes: list[NamedEnvelope], rejected: int = 0, at: int = T) -> list[NamedEntry]:
    entries: list[NamedEntry] = []
    prev = named.genesis(RULES.poll_id)
    for env in envelopes:
        name = STAFF[next(k for k, (e, _n) in STAFF.items() if e == env.ballot.employee_id)][1]
        entries.append(named.accepted(len(entries), prev, env, name))
        prev = entries[-1].hash
    for n in range(rejected):
        code = hashlib.sha256(f"refused-{n}".encode()).hexdigest()
        entries.append(named.rejected(len(entries), prev, code, "the employee is not on the staff list", None, at))
        prev = entries[-1].hash
    return entries


@pytest.fixture(scope="module")
def record(eid_issuer: Issuer) -> list[bytes]:
    cards = {name: staff_card(eid_issuer, name) for name in STAFF}
    t0 = int(time.time() * 1000)  # after the cards: the session's issuer may be newer than this module
    envelopes = [
        signed_envelope(cards["staff"], RULES.poll_id, (0,), t0 + 1_000, DEVICE_KEY),
        signed_envelope(cards["olle"], RULES.poll_id, (1, 2), t0 + 1_100, DEVICE_KEY),
        signed_envelope(
            cards["staff"], RULES.poll_id, (2,), t0 + 1_200, DEVICE_KEY, "follinge"
        ),  # Karin changes her mind
        signed_envelope(cards["petra"], RULES.poll_id, (0, 2), t0 + 900, DEVICE_KEY),  # from an offline kiosk
    ]
    return named.record_lines(RULES, ("staff",), [eid_issuer.issuing_ca()], board_of(envelopes, rejected=1, at=t0))


def parse(lines: list[bytes]) -> Lines:
    return [codec.decode(line.rstrip(b"\n"), max_size=1 << 20) for line in lines]


def dump(objects: Lines) -> list[bytes]:
    return [codec.encode(o) + b"\n" for o in objects]


def problem_of(lines: list[bytes], **kwargs: Any) -> str:
    with pytest.raises(RecordProblem) as caught:
        verify_named_lines(lines, **kwargs)
    return str(caught.value)


def test_a_named_record_verifies_with_names_and_plain_sums(record: list[bytes], tmp_path: Path) -> None:
    verified = verify_named_lines(record)
    assert verified.counts == (1, 1, 3) and verified.counted == 3 and verified.entries == 5
    objects = parse(record)
    assert objects[0]["type"] == "named-poll" and objects[0]["roles"] == ["staff"]
    assert [o["status"] for o in objects[1:-1]] == ["superseded", "counted", "counted", "counted", "rejected"]
    assert objects[1]["name"] == "Karin Karlsson" and objects[1]["ballot"]["chosen"] == [0]
    path = tmp_path / "named.jsonl"
    path.write_bytes(b"".join(record))
    assert verify.verify_file(path, expected_head=verified.head) == verified  # `tinget verify` picks it
    assert verify.find_codes(path, [objects[1]["tracking"]]) == {objects[1]["tracking"]: "superseded"}


def rechain(objects: Lines) -> Lines:
    objects = [dict(o) for o in objects]
    prev = named.genesis(RULES.poll_id)
    entries = [o for o in objects if o["type"] == "entry"]
    for seq, entry in enumerate(entries):
        entry["seq"], entry["prev"] = seq, prev
        chained = {k: entry[k] for k in entry if k not in ("type", "hash", "status")}
        entry["hash"] = prev = named.entry_hash(chained)
    objects[-1]["head"], objects[-1]["entries"] = prev, len(entries)
    return objects


def with_ballot(entry: dict[str, Any], **changes: Any) -> dict[str, Any]:
    ballot = {**entry["ballot"], **changes}
    return {**entry, "ballot": ballot, "tracking": hashlib.sha256(codec.encode(ballot)).hexdigest()}


def foreign_issuer(eid_issuer: Issuer) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    foreign = x509.load_pem_x509_certificate((eid_issuer.foreign_dir / "issuing.pem").read_bytes())
    return foreign.public_bytes(Encoding.DER).hex()


MUTATIONS: dict[str, tuple[Callable[[Lines], Lines], str]] = {
    "change a choice": (lambda o: [o[0], {**o[1], "ballot": {**o[1]["ballot"], "chosen": [1]}}, *o[2:]], "hash"),
    "change a choice and re-chain": (
        lambda o: rechain([o[0], with_ballot(o[1], chosen=[1]), *o[2:]]),
        "card signature that does not hold",
    ),
    "put another name on a ballot": (lambda o: rechain([o[0], {**o[1], "name": "Olle Olsson"}, *o[2:]]), "name"),
    "claim another employee's ballot": (
        lambda o: rechain([o[0], {**with_ballot(o[1], employee=o[2]["voter"]), "voter": o[2]["voter"]}, *o[2:]]),
        "another person than the voter",
    ),
    "swap a certificate": (
        lambda o: rechain([o[0], {**o[1], "certificate": o[2]["certificate"]}, *o[2:]]),
        "another person than the voter",
    ),
    "drop a ballot": (lambda o: [o[0], *o[2:]], "entries are missing, repeated or out of order"),
    "drop a counted ballot and re-chain": (lambda o: rechain([o[0], o[1], *o[3:]]), "not the sum"),
    "duplicate a ballot and re-chain": (lambda o: rechain([o[0], o[1], o[2], o[2], *o[3:]]), "repeats a ballot"),
    "change a count": (
        lambda o: [*o[:-1], {**o[-1], "result": {**o[-1]["result"], "counts": [2, 1, 3]}}],
        "not the sum of the counted ballots",
    ),
    "change the number counted": (
        lambda o: [*o[:-1], {**o[-1], "result": {**o[-1]["result"], "counted": 4}}],
        "not the sum of the counted ballots",
    ),
    "change a status": (
        lambda o: rechain([o[0], {**o[1], "status": "counted"}, *o[2:]]),
        "is marked counted, but the latest-counts rule makes it superseded",
    ),
    "publish a name on a rejection": (
        lambda o: rechain([*o[:-2], {**o[-2], "name": "Olle Olsson"}, o[-1]]),
        "is a rejection without a reason",
    ),
    "change the head": (lambda o: [*o[:-1], {**o[-1], "head": "00" * 32}], "head"),
    "cut the tally": (lambda o: o[:-1], "without a tally line"),
    "a choice the poll does not allow": (
        lambda o: rechain([o[0], with_ballot(o[1], chosen=[0, 1, 2]), *o[2:]]),
        "not a valid ballot for this poll",
    ),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_every_mutation_of_a_named_record_is_caught_and_named(record: list[bytes], name: str) -> None:
    """SEC-09: alter, drop, duplicate a ballot, change a name, a certificate, a count or a status: caught."""
    mutate, expected = MUTATIONS[name]
    assert expected in problem_of(dump(mutate(parse(record))))


def test_cards_from_an_authority_the_header_does_not_list_are_refused(record: list[bytes], eid_issuer: Issuer) -> None:
    objects = parse(record)
    header = {**objects[0], "issuers": [foreign_issuer(eid_issuer)]}
    assert "no listed staff card authority issued" in problem_of(dump([header, *objects[1:]]))


def test_a_named_ballot_is_checked_when_decoded() -> None:
    good = NamedBallot(RULES.poll_id, STAFF["olle"][0], (0, 2), 5, "ange").to_json()
    assert NamedBallot.from_json(good, RULES).chosen == (0, 2)
    for change, message in (
        ({"chosen": [2, 0]}, "ascending"),
        ({"chosen": [0, 0]}, "ascending"),
        ({"chosen": []}, "not a valid ballot"),
        ({"chosen": [3]}, "not a valid ballot"),
        ({"employee": "19850412-2386"}, "not an employee id"),
        ({"poll": "other"}, "another poll"),
        ({"cast_at": True}, "cast_at"),
        ({"format": "tinget/ballot/v1"}, "format"),
    ):
        with pytest.raises(NamedBallotError, match=message):
            NamedBallot.from_json({**good, **change}, RULES)


def test_the_envelope_round_trips_and_its_signatures_hold_only_unchanged(eid_issuer: Issuer) -> None:
    card = staff_card(eid_issuer, "olle")
    env = signed_envelope(card, RULES.poll_id, (1,), int(time.time() * 1000), DEVICE_KEY)
    decoded = NamedEnvelope.from_json(codec.decode(codec.encode(env.to_json()), max_size=1 << 16), RULES)
    assert decoded == env and named.verify_device_signature(DEVICE_KEY.public_key(), env)
    certificate = named.read_certificate(env.certificate)
    assert named.card_signature_holds(certificate, env.ballot, bytes.fromhex(env.card_signature))
    other = dataclasses.replace(env.ballot, chosen=(0,))
    assert not named.card_signature_holds(certificate, other, bytes.fromhex(env.card_signature))
    moved = dataclasses.replace(env, ballot=dataclasses.replace(env.ballot, device_id="follinge"))
    assert not named.verify_device_signature(DEVICE_KEY.public_key(), moved)
    assert named.verify_device_signature(DEVICE_KEY.public_key(), device_sign(moved, DEVICE_KEY))


def test_an_empty_named_poll_verifies_as_all_zeros(eid_issuer: Issuer) -> None:
    lines = named.record_lines(RULES, (), [eid_issuer.issuing_ca()], [])
    verified = verify_named_lines(lines)
    assert verified.counts == (0, 0, 0) and verified.counted == 0 and verified.head == named.genesis(RULES.poll_id)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=6),
    max_leaves=20,
)


def _mutated(base: dict[str, Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        JSON,
        st.builds(lambda k, v: {**base, k: v}, st.sampled_from(sorted(base)), JSON),
        st.builds(lambda k: {x: y for x, y in base.items() if x != k}, st.sampled_from(sorted(base))),
    )


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_hostile_named_ballots_and_envelopes_give_only_the_documented_error(data: st.DataObject) -> None:
    """SEC-19: whatever arrives, decoding raises `NamedBallotError` or returns a checked value."""
    ballot = NamedBallot(RULES.poll_id, STAFF["olle"][0], (0, 2), T, "ange").to_json()
    envelope = {"format": named.ENVELOPE_FORMAT, "ballot": ballot, "certificate": "00", "card_signature": "",
                "device_signature": ""}  # fmt: skip
    for decode, base in ((NamedBallot.from_json, ballot), (NamedEnvelope.from_json, envelope)):
        value = data.draw(_mutated(base))
        with contextlib.suppress(NamedBallotError):
            decode(value, RULES)
    with contextlib.suppress(NamedBallotError):
        named.read_certificate(data.draw(JSON))
