"""The public records at the kiosk: the catalogue replica and its search, the file cache, document requests.

`catalogue` applies the hub's ``catalogue`` set (a manifest of content-addressed chunks) to local tables and a
local FTS5 index; `cache` keeps a size-bounded set of files; `transfer` fetches both over mutual TLS; `worker`
runs those in the sync agent's process; `lookup` is what the UI reads, offline as online.
"""
