"""The verifier of a named poll's record (`tinget verify` on a ``tinget/named-record/v1`` file): the board's
hash chain, every accepted ballot's card certificate (issued by a listed CA, naming the voter, valid at the cast)
and card signature, the re-vote rule by employee id, and the plain sums. It names the first thing that does not
hold. The staff list and roles are the hub's check (as the roll is for a secret poll): the record lists the roles
that could vote, not who held them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from protocol.ballots import board, named
from protocol.ballots.ballot import short_code
from protocol.ballots.named import NamedBallot, NamedBallotError
from protocol.ballots.poll import PollError, PollRules
from protocol.ballots.verify import RecordProblem, Verified, decode_line
from protocol.eid import HolderKind, NotAnEid, card_holder

_HEADER_KEYS = {"type", "format", "poll", "roles", "issuers"}
_ENTRY_KEYS = {
    "type",
    "seq",
    "prev",
    "tracking",
    "voter",
    "name",
    "cast_at",
    "ballot",
    "certificate",
    "signature",
    "reason",
    "hash",
    "status",
}
_CHAINED = ("seq", "prev", "tracking", "voter", "name", "cast_at", "ballot", "certificate", "signature", "reason")
_TALLY_KEYS = {"type", "head", "entries", "result"}
_HASH = re.compile(r"[0-9a-f]{64}")


def is_named_record(first_line: bytes) -> bool:
    """Whether a record's first line is a named poll's header (so `tinget verify` picks this verifier)."""
    return b'"format":"' + named.RECORD_FORMAT.encode() + b'"' in first_line


def _header(data: dict[str, Any]) -> tuple[PollRules, list[x509.Certificate], list[str]]:
    if set(data) != _HEADER_KEYS or data["type"] != "named-poll" or data["format"] != named.RECORD_FORMAT:
        raise RecordProblem(f"the first line is not a {named.RECORD_FORMAT} header")
    try:
        rules = PollRules.from_json(data["poll"])
    except PollError as exc:
        raise RecordProblem(f"the poll header does not hold: {exc}") from None
    roles, issuers = data["roles"], data["issuers"]
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise RecordProblem("the roles are not a list of texts")
    if not isinstance(issuers, list) or not issuers:
        raise RecordProblem("the header lists no certificate authority for the staff cards")
    try:
        cas = [named.read_certificate(text) for text in issuers]
    except NamedBallotError as exc:
        raise RecordProblem(f"an issuer in the header: {exc}") from None
    return rules, cas, roles


def _ballot_problem(
    data: dict[str, Any], rules: PollRules, issuers: list[x509.Certificate]
) -> tuple[str | None, NamedBallot | None]:
    try:
        ballot = NamedBallot.from_json(data["ballot"], rules)
    except NamedBallotError as exc:
        return f"holds a malformed ballot: {exc}", None
    if ballot.tracking_hash != data["tracking"]:
        return "has a tracking code that is not the hash of its ballot", None
    if data["voter"] != ballot.employee_id or data["cast_at"] != ballot.cast_at:
        return "names another voter or cast time than its ballot", None
    try:
        certificate = named.read_certificate(data["certificate"])
        holder = card_holder(certificate)
    except (NamedBallotError, NotAnEid) as exc:
        return f"has a card certificate that names no staff member: {exc}", None
    if holder.kind is not HolderKind.STAFF or holder.employee_id != ballot.employee_id:
        return "has a card certificate of another person than the voter", None
    if data["name"] != holder.full_name:
        return "gives another name than the card certificate's", None
    if not any(_issued_by(certificate, ca) for ca in issuers):
        return "has a card certificate that no listed staff card authority issued", None
    cast = dt.datetime.fromtimestamp(ballot.cast_at / 1000, dt.UTC)
    if not certificate.not_valid_before_utc <= cast <= certificate.not_valid_after_utc:
        return "was cast outside its card certificate's validity", None
    signature = data["signature"]
    try:
        raw = bytes.fromhex(signature) if isinstance(signature, str) else b""
    except ValueError:
        raw = b""
    if not named.card_signature_holds(certificate, ballot, raw):
        return "has a card signature that does not hold", None
    return None, ballot


def _issued_by(certificate: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):  # another issuer's name, key type or signature
        return False
    return True


def _entry(
    data: dict[str, Any], rules: PollRules, issuers: list[x509.Certificate]
) -> tuple[str | None, NamedBallot | None]:
    if set(data) != _ENTRY_KEYS or data["type"] != "entry":
        return "is not a named board entry with exactly the fields " + ", ".join(sorted(_ENTRY_KEYS)), None
    if named.entry_hash({k: data[k] for k in _CHAINED}) != data["hash"]:
        return "has a hash that does not match its contents", None
    if not isinstance(data["tracking"], str) or not _HASH.fullmatch(data["tracking"]):
        return "has no valid tracking code", None
    if data["status"] not in board.STATUSES:
        return "has no valid status", None
    if data["reason"] is not None:
        published = (data["ballot"], data["certificate"], data["signature"], data["name"])
        if not isinstance(data["reason"], str) or data["status"] != board.REJECTED or published != (None,) * 4:
            return "is a rejection without a reason, with a ballot, a name or a signature, or not marked rejected", None
        return None, None
    if data["status"] == board.REJECTED:
        return "is marked rejected but gives no reason", None
    return _ballot_problem(data, rules, issuers)


def verify_named_lines(lines: Iterable[bytes], expected_head: str | None = None) -> Verified:
    """Verify a named poll's record given as its lines; `RecordProblem` naming the first thing that fails."""
    stream = iter(lines)
    rules, issuers, roles = _header(decode_line(next(stream, b""), "the first line"))
    checks = [
        f"named poll {rules.poll_id}: staff cards from {len(issuers)} listed authorities, "
        f"voting roles {', '.join(roles) or 'any'}"
    ]
    prev, seq = named.genesis(rules.poll_id), 0
    published: dict[str, tuple[str, NamedBallot]] = {}
    casts: list[board.Cast] = []
    tally: dict[str, Any] | None = None
    for line in stream:
        data = decode_line(line, f"line {seq + 2}")
        if data.get("type") == "tally":
            tally = data
            break
        where = f"board entry {seq}"
        problem, ballot = _entry(data, rules, issuers)
        if problem:
            raise RecordProblem(f"{where} {problem}")
        if data["seq"] != seq:
            raise RecordProblem(f"{where} has number {data['seq']}: entries are missing, repeated or out of order")
        if data["prev"] != prev:
            raise RecordProblem(f"{where} does not chain to the entry before it")
        if ballot is not None:
            if data["tracking"] in published:
                raise RecordProblem(f"{where} repeats a ballot already accepted on the board")
            published[data["tracking"]] = (data["status"], ballot)
            casts.append(board.Cast(ballot.employee_id, ballot.cast_at, ballot.tracking_hash))
        prev, seq = data["hash"], seq + 1
    if tally is None:
        raise RecordProblem("the record ends without a tally line")
    if next(stream, None) is not None:
        raise RecordProblem("there are lines after the tally line")
    checks.append(
        f"board: {seq} entries chain from the poll's genesis; every ballot's tracking code is its hash, its card "
        "certificate names the voter and was issued by a listed authority, and its card signature holds"
    )
    counted = board.counted_codes(casts, rules.revote)
    for tracking, (status, _ballot) in published.items():
        expected = board.COUNTED if tracking in counted else board.SUPERSEDED
        if status != expected:
            raise RecordProblem(
                f"ballot {short_code(tracking)} is marked {status}, "
                f"but the {rules.revote}-counts rule makes it {expected}"
            )
    checks.append(f"re-vote rule ({rules.revote} counts): {len(counted)} counted, one per employee id")
    counts = named.counts_of(rules, [ballot for t, (_s, ballot) in published.items() if t in counted])
    if set(tally) != _TALLY_KEYS or tally["head"] != prev or tally["entries"] != seq:
        raise RecordProblem("the tally line's head or number of entries is not the board's last hash and length")
    if expected_head is not None and expected_head != prev:
        raise RecordProblem(
            "the board's head is not the one you expected: the board was changed after it was published"
        )
    if tally["result"] != {"counts": list(counts), "counted": len(counted)}:
        raise RecordProblem("the published result is not the sum of the counted ballots")
    checks.append("result: every published count is the sum of the counted ballots' choices")
    return Verified(rules.poll_id, rules.options, counts, len(counted), seq, prev, tuple(checks))
