"""bench/ballots: the ballot cryptography's costs (kiosk, hub, tally, verifier) against a finite-field reference."""
