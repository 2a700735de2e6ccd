"""Polls at the hub (issue 6): drafts, the roll, the trustees' key ceremony, opening and closing, the bulletin
board fed by the ingest, the trustees' partial decryptions and the published election record.

One module per concept, no Flask: `models` (tables), `keys` (the hub's roll secret and seal key), `drafts`
(create, edit, find), `roll` (importing personnummer as per-poll pseudonyms), `ceremony` (trustees and the key
generation relay), `lifecycle` (open, close, close when due), `ballots` (the ingest handler for
`protocol.polls.BALLOT_KIND`), `board` (the hash-chained board, re-votes, the running aggregate), `counting`
(partial decryptions, the result, the record), `sets` (what the ``polls`` and ``roll`` sets carry) and `cli`.
Every state change is in the audit log, without personal data. docs/voting.md is the officers' guide.
"""
