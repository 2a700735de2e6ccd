"""Polls at the hub (issue 6): drafts, the roll, the trustees' key ceremony, opening and closing, the bulletin
board fed by the ingest, the trustees' partial decryptions and the published election record.

One module per concept, no Flask: `models` (tables), `keys` (the hub's roll secret and seal key), `drafts`
(create, edit, find), `roll` (importing personnummer as per-poll pseudonyms), `ceremony` (trustees and the key
generation relay), `lifecycle` (open, close, close when due), `ballots` (the ingest handler for
`protocol.polls.BALLOT_KIND`), `board` (the hash-chained board, re-votes, the running aggregate), `counting`
(partial decryptions, the result, the record), `sets` (what the ``polls`` and ``roll`` sets carry), `named` and
`named_board` (named polls' ingest and board) and `cli`.
Every state change is in the audit log, without personal data. docs/voting.md is the officers' guide.

The service API (what the web pages call; each takes a `Session` inside `hub.db.unit_of_work`, an ``actor``
for the audit log, and raises `drafts.PollError` with a message for the person):

* drafts: ``create_poll(session, poll_id, spec, *, actor)``, ``edit_poll(…)``, ``get_poll``/``find_poll``,
  ``list_polls(session, state=None)``, ``options_of``, ``rules_of``, ``trustees_of``, ``drafts_labels``;
* roll: ``import_roll(session, poll_id, data, *, roll_key, actor, replace=False) -> RollReport``, ``roll_size``;
  the key is ``keys.roll_key(settings, poll_id)``;
* ceremony: ``set_trustees(session, poll_id, threshold, usernames, *, actor)``, ``ceremony_json``,
  ``upload_round(session, poll_id, data, *, actor, as_trustee=None)``, ``round_files(session, poll_id, kind)``,
  ``ceremony_status``, ``reset_ceremony``;
* lifecycle: ``open_poll``/``close_poll``/``close_due`` (then ``hub.sets.service.publish_sets``), or
  ``open_and_publish``/``close_and_publish`` with the engine;
* board (public page ``/val/<poll_id>?kod=…``): ``board_rows(session, poll_id)``, ``find_code(session, poll_id,
  code)``, ``counting.head_of(poll)``;
* counting: ``closed_board(session, poll_id) -> bytes``, ``upload_partial(session, poll_id, data, *, actor,
  as_trustee=None) -> (trustee, tallied)``, ``result_of(poll)`` (None until tallied: SEC-06),
  ``count_without_trustees(session, poll_id, *, actor)`` (a closed poll in which no ballot counts: all zeros,
  D66; ``publish`` does it itself), ``publish(session, poll_id, *, actor, staff_cas=None)``,
  ``election_record(session, poll_id) -> bytes``.

Named polls (staff votes, D77, D78): ``PollSpec(secret=False, roles=(…))`` with ``create_poll`` (``roles_of(poll)``
reads them; no roll, trustees, key or age limit); ``open_poll``/``close_poll`` as for secret polls; the ingest
handler is `named` (`protocol.polls.NAMED_BALLOT_KIND`); the public board page calls
``named_board.named_rows(session, poll_id, language) -> [NamedRow(seq, code, name, employee_id, chosen,
cast_at, status, reason)]`` (``chosen`` is None until the poll closes: SEC-06); ``publish`` counts a closed named
poll (``named_board.count_named``) and needs ``staff_cas=counting.staff_card_authorities(settings)`` for its
record (`tinget/named-record/v1`, which ``tinget verify`` checks). ``poll.secret`` tells the two apart.
"""
