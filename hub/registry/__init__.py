"""The public records registry (diarium): cases, documents, the notice board, requests, retention, search.

`rules` is the plain domain (kinds, secrecy, what may be public, case numbers, retention); `models` the tables;
`store` the content-addressed files and their text; `service` registration, edits and publication (audited);
`search` the full-text index on SQLite FTS5 or PostgreSQL; `catalogue` what kiosks receive; `notices`,
`requests`, `retention` and `importer` the rest of the registrar's work.
"""
