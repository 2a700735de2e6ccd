"""The device API: a small HTTPS app, separate from the hub web, that only enrolled kiosks can reach.

It runs under its own gunicorn (``tinget hub device-api``) with TLS and required client certificates; the
device is the certificate's CN. Today it serves the replicated sets and the hub's clock; nothing personal.
"""
