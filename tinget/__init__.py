"""The `tinget` command: one entry point whose sub-commands live with the part they drive.

This package is the shell only. It imports `hub`, `kiosk` and `provisioning` lazily, when their sub-command runs,
and nothing imports it.
"""
