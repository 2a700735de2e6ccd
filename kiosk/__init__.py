"""The kiosk in a service office: touch UI on 127.0.0.1, its own SQLite store (replica + outbox), idle reset.

Imports `protocol`, never `hub`. Nothing here performs I/O at import time; `kiosk.app.create_app` assembles
the web UI.
"""
