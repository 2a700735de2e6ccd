"""Reachability checks for ``/healthz``: the database answers ``SELECT 1``; the broker accepts the hub.

The broker check is `protocol.mqtt.probe_broker`: a TLS socket with the hub's client certificate and one
bare MQTT CONNECT/CONNACK, never a paho client (one inside the web workers would subscribe once per worker,
DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from hub.db import DatabaseUnavailable, check_database
from hub.settings import HubSettings
from protocol.mqtt import probe_broker

BROKER_TIMEOUT_S = 1.0  # a health check must answer quickly even when the broker's host is unreachable


@dataclass(frozen=True, slots=True)
class Check:
    """One check's result and a short reason a person can act on."""

    ok: bool
    detail: str


def database_check(engine: Engine) -> Check:
    """Does the database answer?"""
    try:
        check_database(engine)
    except (DatabaseUnavailable, SQLAlchemyError):
        return Check(False, "the database does not answer")
    return Check(True, "the database answers")


def broker_check(settings: HubSettings, *, timeout: float = BROKER_TIMEOUT_S) -> Check:
    """Does the broker accept a TLS connection with the hub's client certificate?"""
    files = (settings.mqtt_ca_file, settings.mqtt_cert_file, settings.mqtt_key_file)
    if any(f is None for f in files):
        return Check(
            False,
            "the hub has no broker certificate configured (mqtt_ca_file, mqtt_cert_file, mqtt_key_file)",
        )
    ca_file, cert_file, key_file = files
    assert ca_file is not None and cert_file is not None and key_file is not None
    ok, detail = probe_broker(settings.mqtt_host, settings.mqtt_port, ca_file, cert_file, key_file, timeout=timeout)
    return Check(ok, detail)
