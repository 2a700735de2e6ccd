"""After the close: the closed board for the trustees, their partial decryptions, the result, the record.

A trustee downloads the closed board (`closed_board`, the record without its tally line), checks it and
decrypts its aggregate with `tinget trustee decrypt`, and uploads the file (`upload_partial`: checked with
`tally.partial_problem` against this board's head and aggregate). With k valid partial decryptions the hub
combines them (`tally.combine`): the poll is tallied, and nothing is decrypted before the close (SEC-06) or
ballot by ballot (SEC-05). `publish` stores the election record (`record.record_lines`), which `tinget verify`
checks (SEC-09).

A closed poll on whose board no ballot counts (nobody voted, or every ballot was rejected) needs no trustee: the
sum of no ballots hides nothing, the result is all zeros (`count_without_trustees`, D66). It is done when the
officer publishes, not at the close: ballots cast before the close at an offline kiosk may still arrive.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from sqlalchemy import LargeBinary, func, select
from sqlalchemy.orm import Session, sessionmaker

from hub.audit import log as audit_log
from hub.db import unit_of_work, utcnow
from hub.polls import board as hub_board
from hub.polls import named_board
from hub.polls.drafts import PollError, get_poll, key_of, require_secret, require_state, rules_of, trustees_of
from hub.polls.models import ElectionRecord, PartialRow, Poll
from hub.settings import HubSettings
from protocol import codec
from protocol.ballots import board, keygen, named, record, tally
from protocol.ballots.keygen import KeygenError
from protocol.ballots.tally import PartialDecryption, TallyError

AFTER_CLOSE = ("closed", "tallied", "published")
RECORD_CHUNK = 1 << 20
"""The election record is read from the database and sent this many bytes at a time."""


def head_of(poll: Poll) -> str:
    """The board's head: the last entry's hash (the genesis hash of an empty board; a named board has its own)."""
    return poll.board_head or (board.genesis(poll.id) if poll.secret else named.genesis(poll.id))


def closed_board(session: Session, poll_id: str) -> bytes:
    """The closed board (`record.board_lines`) that trustees check and decrypt; refused before the close."""
    poll = get_poll(session, poll_id)
    require_state(poll, AFTER_CLOSE, "counted")
    require_secret(poll, "decrypted by trustees")
    rules = rules_of(poll)
    return b"".join(record.board_lines(rules, key_of(poll), hub_board.entries(session, poll_id, rules)))


def upload_partial(
    session: Session, poll_id: str, data: object, *, actor: str, as_trustee: str | None = None
) -> tuple[int, bool]:
    """Take in a trustee's ``decrypt`` file (checked; audited): (trustee number, whether the poll is now
    tallied). ``as_trustee`` is the signed-in user on the web, who may upload only its own file."""
    poll = get_poll(session, poll_id, for_update=True)
    require_state(poll, "closed", "given partial decryptions")
    require_secret(poll, "given partial decryptions")
    rules, key = rules_of(poll), key_of(poll)
    try:
        body = keygen.round_body(data, "decrypt", poll_id)
    except KeygenError as exc:
        raise PollError(str(exc)) from None
    if not isinstance(body, dict) or set(body) != {"head", "aggregate", "partial"}:
        raise PollError("a decrypt file's body has exactly head, aggregate and partial")
    if body["head"] != head_of(poll):
        raise PollError("the file decrypts another board (its head is not this board's): download the board again")
    aggregate = hub_board.running_aggregate(poll, rules)
    try:
        partial = PartialDecryption.from_json(body["partial"], rules)
    except TallyError as exc:
        raise PollError(str(exc)) from None
    problem = tally.partial_problem(rules, key, aggregate, partial)
    if problem is not None:
        raise PollError(problem)
    if as_trustee is not None and trustees_of(poll)[partial.index - 1] != as_trustee:
        raise PollError(f"the file is trustee {partial.index}'s; you are not that trustee")
    if session.get(PartialRow, (poll_id, partial.index)) is not None:
        raise PollError(f"trustee {partial.index}'s partial decryption is already in")
    session.add(
        PartialRow(
            poll_id=poll_id,
            trustee=partial.index,
            body=codec.encode(partial.to_json()).decode("utf-8"),
            uploaded_by=actor,
            uploaded_at=utcnow(),
        )
    )
    session.flush()
    audit_log.record(
        session, actor=actor, action="poll.partial_received", subject=poll_id, details={"trustee": partial.index}
    )
    partials = _partials(session, poll_id, rules)
    if len(partials) < key.ceremony.threshold:
        return partial.index, False
    _tally(session, poll, partials, actor)
    return partial.index, True


def count_without_trustees(session: Session, poll_id: str, *, actor: str) -> record.Result:
    """Tally a closed poll on whose board no ballot counts: every count 0, nothing decrypted (audited; D66).
    `PollError` when a ballot counts (then the trustees decrypt)."""
    poll = get_poll(session, poll_id, for_update=True)
    require_state(poll, "closed", "counted without the trustees")
    require_secret(poll, "counted as a secret poll")
    if poll.counted:
        raise PollError(f"{poll.counted} ballots count on the board of {poll_id}: the trustees must decrypt their sum")
    _tally(session, poll, [], actor)
    result = result_of(poll)
    assert result is not None
    return result


def _partials(session: Session, poll_id: str, rules: Any) -> list[PartialDecryption]:
    rows = session.scalars(select(PartialRow).where(PartialRow.poll_id == poll_id).order_by(PartialRow.trustee))
    return [PartialDecryption.from_json(json.loads(row.body), rules) for row in rows]


def _tally(session: Session, poll: Poll, partials: list[PartialDecryption], actor: str) -> None:
    rules, key = rules_of(poll), key_of(poll)
    entries = hub_board.entries(session, poll.id, rules)
    try:
        aggregate, result = record.tally_result(rules, key, entries, partials)
    except TallyError as exc:
        raise PollError(f"the result cannot be computed: {exc}") from None
    if tally.aggregate_to_json(aggregate) != tally.aggregate_to_json(hub_board.running_aggregate(poll, rules)):
        raise PollError("the running aggregate differs from the board's: refusing to count (report this)")
    poll.result, poll.state, poll.updated_at = json.dumps(result.to_json()), "tallied", utcnow()
    audit_log.record(
        session,
        actor=actor,
        action="poll.tallied",
        subject=poll.id,
        details={"counted": result.counted, "counts": list(result.counts), "trustees": [p.index for p in partials]},
    )


def result_of(poll: Poll) -> record.Result | None:
    """The counts once the poll is tallied, else None (SEC-06: nothing before)."""
    if poll.result is None or poll.state not in ("tallied", "published"):
        return None
    data = json.loads(poll.result)
    return record.Result(tuple(data["counts"]), data["counted"])


def publish(
    session: Session, poll_id: str, *, actor: str, staff_cas: list[x509.Certificate] | None = None
) -> ElectionRecord:
    """Store the election record of a tallied poll and mark it published (audited). A closed poll on whose
    board no ballot counts is tallied first, without the trustees (`count_without_trustees`); so is a closed
    named poll, by its plain sum (`named_board.count_named`), whose record lists ``staff_cas``, the authorities
    whose staff cards the hub accepts (`staff_card_authorities(settings)`), for the verifier."""
    poll = get_poll(session, poll_id, for_update=True)
    if poll.state == "closed" and not poll.secret:
        named_board.count_named(session, poll_id, actor=actor)
    elif poll.state == "closed" and poll.counted == 0:
        count_without_trustees(session, poll_id, actor=actor)
    require_state(poll, "tallied", "published")
    if poll.secret:
        rules, key = rules_of(poll), key_of(poll)
        result = result_of(poll)
        assert result is not None  # tallied
        partials = _partials(session, poll_id, rules)
        entries = hub_board.entries(session, poll_id, rules)
        aggregate = hub_board.running_aggregate(poll, rules)
        body = b"".join(record.record_lines(rules, key, entries, aggregate, partials, result))
    else:
        if not staff_cas:
            raise PollError("a named poll's record lists the staff card authorities: set eid_staff_ca_file")
        body = named_board.record_of(session, poll, staff_cas)
    now = utcnow()
    row = ElectionRecord(
        poll_id=poll_id, body=body, sha256=hashlib.sha256(body).hexdigest(), published_by=actor, published_at=now
    )
    session.add(row)
    poll.state, poll.updated_at = "published", now
    audit_log.record(
        session,
        actor=actor,
        action="poll.published",
        subject=poll_id,
        details={"record_sha256": row.sha256, "head": head_of(poll)},
    )
    return row


def staff_card_authorities(settings: HubSettings) -> list[x509.Certificate]:
    """The CAs that issue the municipality's staff cards (``eid_staff_ca_file``; none when it is unset)."""
    if settings.eid_staff_ca_file is None:
        return []
    return x509.load_pem_x509_certificates(settings.eid_staff_ca_file.read_bytes())


def election_record(session: Session, poll_id: str) -> bytes:
    """The published record, byte for byte; `PollError` before it is published."""
    row = session.get(ElectionRecord, poll_id)
    if row is None:
        raise PollError(f"poll {poll_id} has no published election record yet")
    return row.body


@dataclass(frozen=True, slots=True)
class RecordFile:
    """What a download of the published record announces before its bytes: the size and the SHA-256."""

    size: int
    sha256: str


def record_file(session: Session, poll_id: str) -> RecordFile:
    """The published record's size and hash, without reading it; `PollError` before it is published."""
    found = session.execute(
        select(func.length(ElectionRecord.body), ElectionRecord.sha256).where(ElectionRecord.poll_id == poll_id)
    ).first()
    if found is None:
        raise PollError(f"poll {poll_id} has no published election record yet")
    return RecordFile(int(found[0]), found[1])


def record_chunks(sessions: sessionmaker[Session], poll_id: str, size: int) -> Iterator[bytes]:
    """The published record, `RECORD_CHUNK` bytes at a time, each read in its own short transaction (a published
    record never changes), so that a download holds neither the whole record in memory nor a transaction open."""
    for offset in range(0, size, RECORD_CHUNK):
        with unit_of_work(sessions, write=False) as session:
            chunk = session.scalar(
                select(func.substr(ElectionRecord.body, offset + 1, RECORD_CHUNK, type_=LargeBinary)).where(
                    ElectionRecord.poll_id == poll_id
                )
            )
        if chunk is None:  # pragma: no cover - a published record is never deleted
            raise PollError(f"poll {poll_id}'s election record disappeared during the download")
        yield bytes(chunk)
