"""Ballot cryptography: exponential ElGamal on ristretto255 through libsodium, zero-knowledge proofs, k-of-n
trustees, the ballot and its envelope, the bulletin board, the election record and its verifier.

Modules, one concept each: `group` (ristretto255), `elgamal` (ciphertexts), `proofs` (the three proof
systems), `poll` (what a ballot must satisfy), `ballot` (the inner ballot and its tracking code), `envelope`
(the outer envelope and what is signed), `keygen` (the trustees' distributed key generation), `tally` (the
aggregate, partial decryptions, the result), `board` (the hash-chained bulletin board and the re-vote rule),
`record` (the downloadable election record) and `verify` (the independent verifier). docs/verification.md
gives every format.

How the rest of Tinget calls it:

* **Poll set-up (hub)**: `poll.single_choice` / `yes_no_abstain` / `approval` make the `PollRules`; the
  trustees' files go through `keygen.round_body`, and `keygen.complete(ceremony, announcements,
  confirmations)` gives the `ElectionKey`; `key.to_json()` is what kiosks receive with the open polls, and
  `ElectionKey.from_json` re-checks it on arrival.
* **Casting (kiosk)**: ``b = ballot.cast_ballot(rules, key.public_key, frozenset(chosen_indices))``; store
  ``b.encoded()`` (the receipt is ``ballot.short_code(b.tracking_hash)`` and the full ``b.tracking_hash``,
  SEC-08); build ``envelope.Envelope(b, pseudonym, device_id, cast_at)``, have the card sign
  ``envelope.card_signing_bytes(env)`` and the device key sign ``envelope.device_signing_bytes(env)``
  (``dataclasses.replace`` fills the signatures in).
* **Ingest (hub)**: ``Envelope.from_json(payload, rules)``, then ``envelope.envelope_problem(rules, key,
  env, device_public_key)`` (device signature and every proof; the card signature, roll and schedule are the
  e-ID layer's), then ``board.accept(...)`` or ``board.reject(...)`` with the previous entry; refuse a
  tracking code already accepted as a duplicate. ``board.counted_codes`` / ``board.statuses`` apply the
  re-vote rule; keep the aggregate with ``tally.add_ballot`` and ``tally.remove_ballot`` when a ballot is
  superseded.
* **Closing (hub, trustees)**: publish ``record.board_lines(rules, key, entries)`` (the closed board); each
  trustee runs ``tinget trustee decrypt`` on it; ``tally.PartialDecryption.from_json`` and ``tally.combine``
  give the counts; ``record.record_lines(...)`` writes the election record, which ``verify.verify_file``
  (``tinget verify``) checks.
"""
