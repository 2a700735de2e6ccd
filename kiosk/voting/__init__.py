"""Voting at the kiosk: which polls a signed-in resident may vote in, and casting a ballot offline.

Plain domain code over `protocol.polls` and `protocol.ballots`; the card signs through the card service, the
device key signs the envelope, and the ballot is stored with its outbox row in one transaction before the
receipt is shown (DESIGN.md decisions 1 and 5).
"""
