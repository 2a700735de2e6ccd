"""e-ID at the kiosk: the trust material it holds, certificate validation, and the sign-in flow.

Plain domain code: no Flask, no SQLAlchemy, no pyscard. The card is reached through `kiosk.card.Card`; the
trust material comes from the replicated "trust" set; the caller passes the time.
"""
