"""The town-hall hub: web (public, admin, api), staff accounts, the audit log, and the ingest worker.

Nothing here performs I/O at import time; `hub.app:create_app()` assembles the web application and `hub.cli`
holds the `tinget hub` commands.
"""
