"""bench/sync: kiosk outbox → broker → hub ingest → ack, against a bare paho publish-and-reply ceiling."""
