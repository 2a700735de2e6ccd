"""Ballot cryptography: exponential ElGamal on ristretto255 through libsodium, zero-knowledge proofs, k-of-n
trustees, the ballot and its envelope, the bulletin board, the election record and its verifier.

Modules, one concept each: `group` (ristretto255), `elgamal` (ciphertexts), `proofs` (the three proof
systems), `poll` (what a ballot must satisfy), `ballot` (the inner ballot and its tracking code), `envelope`
(the outer envelope and what is signed), `keygen` (the trustees' distributed key generation), `tally` (the
aggregate, partial decryptions, the result), `board` (the hash-chained bulletin board and the re-vote rule),
`record` (the downloadable election record) and `verify` (the independent verifier). docs/verification.md
gives every format.
"""
