"""The trustees and their key generation, with the hub as the relay (protocol/ballots/keygen.py).

The officer names k and the n trustees (staff usernames, in order: trustee i is the i-th). Each trustee then
downloads ``ceremony.json`` and uploads one file per round: ``announce`` (when everyone has announced, the
announcements are what ``deliver`` needs), ``deliver`` (the sealed shares; when all are in, every ``deliver``
file is what ``finish`` needs) and ``confirm``. With the last confirmation the hub runs `keygen.complete` and
stores the `ElectionKey`. Each file is checked before it is kept; a round opens only when the one before is
complete, and a trustee uploads each round once.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.audit import log as audit_log
from hub.db import utcnow
from hub.polls.drafts import PollError, get_poll, require_secret, require_state, trustees_of
from hub.polls.models import CeremonyFile, Poll
from hub.staff.models import StaffUser
from protocol import codec
from protocol.ballots import keygen
from protocol.ballots.keygen import Ceremony, KeygenError

KEYGEN_ROUNDS = ("announce", "deliver", "confirm")


def set_trustees(session: Session, poll_id: str, threshold: int, usernames: list[str], *, actor: str) -> Poll:
    """Name the poll's k-of-n trustees (existing staff accounts, in order; audited). Refused once a ceremony
    file has been uploaded (`reset_ceremony` first) or after the poll has opened."""
    poll = get_poll(session, poll_id)
    require_state(poll, "draft", "given trustees")
    require_secret(poll, "given trustees")
    if _file_count(session, poll_id):
        raise PollError("the key ceremony has begun: reset it before changing the trustees")
    try:
        Ceremony(poll_id, threshold, tuple(usernames))
    except KeygenError as exc:
        raise PollError(f"trustees: {exc}") from None
    known = set(session.scalars(select(StaffUser.username).where(StaffUser.username.in_(usernames))))
    missing = [name for name in usernames if name not in known]
    if missing:
        raise PollError(f"no staff account {missing[0]!r}: trustees are staff members of the hub")
    poll.threshold, poll.trustees, poll.updated_at = threshold, json.dumps(list(usernames)), utcnow()
    audit_log.record(
        session,
        actor=actor,
        action="poll.trustees_set",
        subject=poll_id,
        details={"threshold": threshold, "trustees": list(usernames)},
    )
    return poll


def reset_ceremony(session: Session, poll_id: str, *, actor: str) -> None:
    """Throw away every round file and the key of a draft poll (when a trustee failed a round; audited)."""
    poll = get_poll(session, poll_id)
    require_state(poll, "draft", "given a new key ceremony")
    for row in session.scalars(select(CeremonyFile).where(CeremonyFile.poll_id == poll_id)):
        session.delete(row)
    poll.election_key = None
    audit_log.record(session, actor=actor, action="poll.ceremony_reset", subject=poll_id)


def ceremony_of(poll: Poll) -> Ceremony:
    """The key generation's description; `PollError` before trustees are named."""
    if poll.threshold is None or not trustees_of(poll):
        raise PollError(f"poll {poll.id} has no trustees yet")
    return Ceremony(poll.id, poll.threshold, trustees_of(poll))


def ceremony_json(session: Session, poll_id: str) -> dict[str, Any]:
    """``ceremony.json``: what every trustee starts from."""
    return ceremony_of(get_poll(session, poll_id)).to_json()


def _file_count(session: Session, poll_id: str, kind: str | None = None) -> int:
    query = select(func.count()).select_from(CeremonyFile).where(CeremonyFile.poll_id == poll_id)
    if kind is not None:
        query = query.where(CeremonyFile.round == kind)
    return int(session.scalar(query) or 0)


def round_files(session: Session, poll_id: str, kind: str) -> list[dict[str, Any]]:
    """Every uploaded file of round ``kind`` in trustee order, as the trustees wrote them; `PollError` while
    the round is incomplete (a trustee needs them all)."""
    poll = get_poll(session, poll_id)
    ceremony = ceremony_of(poll)
    if kind not in KEYGEN_ROUNDS:
        raise PollError(f"unknown round {kind!r} (announce, deliver or confirm)")
    rows = list(
        session.scalars(
            select(CeremonyFile)
            .where(CeremonyFile.poll_id == poll_id, CeremonyFile.round == kind)
            .order_by(CeremonyFile.trustee)
        )
    )
    if len(rows) < len(ceremony.trustees):
        waiting = sorted(set(ceremony.indices) - {r.trustee for r in rows})
        raise PollError(f"round {kind} is not complete: waiting for trustee {', '.join(map(str, waiting))}")
    return [json.loads(row.body) for row in rows]


def ceremony_status(session: Session, poll_id: str) -> dict[str, list[int]]:
    """Round → the trustee numbers whose file is in."""
    status: dict[str, list[int]] = {kind: [] for kind in KEYGEN_ROUNDS}
    for kind, trustee in session.execute(
        select(CeremonyFile.round, CeremonyFile.trustee).where(CeremonyFile.poll_id == poll_id)
    ):
        status[kind].append(trustee)
    return {kind: sorted(found) for kind, found in status.items()}


def upload_round(
    session: Session, poll_id: str, data: object, *, actor: str, as_trustee: str | None = None
) -> tuple[str, int]:
    """Take in one trustee's round file (checked; audited): its (round, trustee number). ``as_trustee`` is the
    signed-in user on the web, who may upload only as the trustee the file names. Completes the key when the
    last confirmation arrives. `PollError` for anything that does not hold."""
    poll = get_poll(session, poll_id, for_update=True)
    require_state(poll, "draft", "given key ceremony files")
    ceremony = ceremony_of(poll)
    kind = data.get("round") if isinstance(data, dict) else None
    if kind not in KEYGEN_ROUNDS:
        raise PollError("not a key ceremony file (its round must be announce, deliver or confirm)")
    try:
        body = keygen.round_body(data, kind, poll_id)
        index = _check_body(session, ceremony, kind, body)
    except KeygenError as exc:
        raise PollError(str(exc)) from None
    if as_trustee is not None and ceremony.trustees[index - 1] != as_trustee:
        raise PollError(f"the file is trustee {index}'s; you are not that trustee")
    previous = KEYGEN_ROUNDS[KEYGEN_ROUNDS.index(kind) - 1] if kind != "announce" else None
    if previous is not None and _file_count(session, poll_id, previous) < len(ceremony.trustees):
        raise PollError(f"round {kind} opens when every trustee's {previous} file is in")
    if session.get(CeremonyFile, (poll_id, kind, index)) is not None:
        raise PollError(f"trustee {index}'s {kind} file is already in (reset the ceremony to start again)")
    session.add(
        CeremonyFile(
            poll_id=poll_id,
            round=kind,
            trustee=index,
            body=codec.encode(data).decode("utf-8"),
            uploaded_by=actor,
            uploaded_at=utcnow(),
        )
    )
    session.flush()
    audit_log.record(
        session, actor=actor, action="poll.ceremony_file", subject=poll_id, details={"round": kind, "trustee": index}
    )
    if kind == "confirm" and _file_count(session, poll_id, "confirm") == len(ceremony.trustees):
        _complete(session, poll, ceremony, actor)
    return kind, index


def _announcements(session: Session, ceremony: Ceremony) -> list[keygen.Announcement]:
    files = round_files(session, ceremony.poll_id, "announce")
    return [keygen.Announcement.from_json(f["body"], ceremony) for f in files]


def _check_body(session: Session, ceremony: Ceremony, kind: str, body: object) -> int:
    """The trustee number a round's body is from, after checking what can be checked of it on arrival."""
    if kind == "announce":
        announcement = keygen.Announcement.from_json(body, ceremony)
        return announcement.index
    if kind == "deliver":
        if not isinstance(body, dict) or set(body) != {"from", "shares"} or not isinstance(body["shares"], dict):
            raise KeygenError("a deliver file's body has exactly from and shares")
        index = body["from"]
        expected = {str(j) for j in ceremony.indices if j != index}
        if index not in ceremony.indices or set(body["shares"]) != expected:
            raise KeygenError("a deliver file holds one sealed share for every other trustee")
        return int(index)
    confirmation = keygen.Confirmation.from_json(body)
    if confirmation.index not in ceremony.indices:
        raise KeygenError("a confirmation names no trustee of this ceremony")
    transcript = keygen.transcript_fingerprint(ceremony, _announcements(session, ceremony))
    if confirmation.transcript != transcript:
        raise KeygenError(f"trustee {confirmation.index} confirmed another transcript than the hub relayed")
    return confirmation.index


def _complete(session: Session, poll: Poll, ceremony: Ceremony, actor: str) -> None:
    confirmations = [keygen.Confirmation.from_json(f["body"]) for f in round_files(session, poll.id, "confirm")]
    try:
        key = keygen.complete(ceremony, _announcements(session, ceremony), confirmations)
    except KeygenError as exc:
        raise PollError(f"the key cannot be completed: {exc}") from None
    poll.election_key = codec.encode(key.to_json()).decode("utf-8")
    poll.updated_at = utcnow()
    audit_log.record(
        session,
        actor=actor,
        action="poll.key_created",
        subject=poll.id,
        details={"public_key": key.to_json()["public_key"], "threshold": ceremony.threshold},
    )
