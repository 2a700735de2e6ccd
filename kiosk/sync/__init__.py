"""The kiosk's sync agent (`tinget kiosk sync`): outbox to hub, acks, commands, set versions, heartbeats.

- `kiosk.sync.agent`: the loop (`run_sync`, `SyncAgent`), the only code here that touches the database
  (with `kiosk.sync.commands`, hub commands executed once each);
- `kiosk.sync.link`: the paho adapter (one MQTT client per kiosk; callbacks only queue events);
- `kiosk.sync.inflight`, `kiosk.sync.clock`, `kiosk.sync.batches`, `kiosk.sync.inbox`: plain Python, no I/O
  (in-flight batches and backoff, clock offset, packing, decoding what the hub sends), unit-tested with a
  fake clock;
- `kiosk.sync.replica_port`: the way into the replicated sets (`kiosk.replica`).
"""
