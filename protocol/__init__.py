"""The contract that kiosk and hub both speak: topics, payloads, canonical encoding, shared conventions.

Nothing in this package performs I/O at import time, and nothing here imports `hub`, `kiosk` or any web framework.
"""
