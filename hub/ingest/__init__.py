"""The ingest worker: its own process; reads what kiosks publish (MQTT v5 shared subscription), records it.

This first version records heartbeats and device state and keeps every message it cannot decode as a dead
letter. Action batches (the outbox's exactly-once path with application acks) are the next issue: they are
left unacked, so the kiosks keep them in their outboxes until then.
"""
