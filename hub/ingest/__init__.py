"""The ingest worker: its own process; reads what kiosks publish (MQTT v5 shared subscription), records it.

Action batches are stored exactly once (``received_actions``, unique per device and message id), in group
commits; each batch's `protocol.messages.Ack` is published only after the commit, and the MQTT message is
acknowledged (paho manual ack) only after that. Heartbeats and state go to ``devices``; anything that cannot
be accepted to ``dead_letters`` with its reason. It also publishes the commands staff write to
``device_commands``.
"""
