"""Replicated sets: named JSON documents the hub builds, versions and announces; kiosks fetch them over mTLS.

`content` builds each set's document (no framework), `trust` reads the PKI files the trust set carries,
`publication` stores new versions in ``set_versions`` and audits them, `announce` publishes the retained
`protocol.messages.SetVersion` notices, and `cli` holds ``tinget hub sets publish`` and ``tinget hub device-api``.
"""
