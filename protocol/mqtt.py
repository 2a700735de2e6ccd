"""The one way Tinget builds a paho-mqtt 2.x client, and a broker health probe.

`make_client` returns a paho `Client` that speaks MQTT v5 over TLS with a client certificate, with the
paho 2.x pitfalls (DESIGN.md) settled explicitly: ``clean_start`` is a fixed choice, not "first connect
only"; a session expiry is always sent; paho's own queues are capped; reconnects back off. It does no
I/O: the caller connects with ``client.loop_start()`` (connects in paho's thread, retrying with
back-off) or ``client.reconnect()`` (now, raising on failure), after setting its callbacks.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

# Tuning, with the reason for each value. Tests may patch these.
# A dead link is noticed within 1.5 x the keepalive; kiosks sit behind NAT that forgets idle flows.
KEEPALIVE_SECONDS = 30
# A kiosk offline for a week still finds its subscriptions and queued acks.
SESSION_EXPIRY_SECONDS = 7 * 24 * 3600
MAX_INFLIGHT = 20  # paho's default; QoS 1 messages awaiting PUBACK at once
# paho's queue is memory only: the outbox holds the rest and stops draining when this is full.
MAX_QUEUED = 1000
RECONNECT_MIN_DELAY = 1  # seconds; doubled on every failed attempt ...
RECONNECT_MAX_DELAY = 60  # ... up to this, so a returning broker is not stormed by every kiosk at once
CONNECT_TIMEOUT = 10.0  # seconds for TCP + TLS handshake


@dataclass(frozen=True, slots=True)
class Will:
    """The last will the broker publishes for a client that vanishes without a DISCONNECT."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


def tls_context(ca_file: Path, cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A TLS 1.2+ client context: checks the server against ``ca_file`` and its host name; shows our cert."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(certfile=str(cert_file), keyfile=str(key_file))
    return context


def _no_delay(_client: paho.Client, _userdata: Any, sock: Any) -> None:
    """Send small packets at once. paho leaves Nagle's algorithm on, and with the peer's delayed ACKs every
    publish-and-ack round trip then waits some 40 ms per leg (measured: 90 ms round trips on loopback)."""
    with contextlib.suppress(OSError, AttributeError):  # not a TCP socket (a unit test's socketpair): no matter
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def make_client(
    client_id: str,
    *,
    ca_file: Path,
    cert_file: Path,
    key_file: Path,
    host: str,
    port: int,
    will: Will | None = None,
    session_expiry: int = SESSION_EXPIRY_SECONDS,
    clean_start: bool = False,
    keepalive: int = KEEPALIVE_SECONDS,
) -> paho.Client:
    """A configured, not yet connected paho client (MQTT v5, TLS with client certificate, callback API 2).

    ``clean_start=False`` with a ``session_expiry`` keeps subscriptions and queued QoS 1 messages across
    reconnects; pass ``clean_start=True`` for a client that must start afresh every time. The client id
    must be stable for a persistent session and unique per process (a second connection with the same id
    evicts the first).
    """
    if not client_id:
        raise ValueError("an MQTT client id is required (a stable one: it names the broker-side session)")
    client = paho.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=paho.MQTTv5,
        transport="tcp",
        reconnect_on_failure=True,
    )
    client.tls_set_context(tls_context(ca_file, cert_file, key_file))
    client.connect_timeout = CONNECT_TIMEOUT
    client.max_inflight_messages_set(MAX_INFLIGHT)
    client.max_queued_messages_set(MAX_QUEUED)
    client.reconnect_delay_set(min_delay=RECONNECT_MIN_DELAY, max_delay=RECONNECT_MAX_DELAY)
    client.on_socket_open = _no_delay
    if will is not None:
        client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = session_expiry
    # connect_async only records where and how to connect (no I/O); loop_start() or reconnect() connects.
    client.connect_async(host, port, keepalive=keepalive, clean_start=clean_start, properties=properties)
    return client


# A minimal MQTT v5 CONNECT: clean start, keepalive 10 s, no properties, empty client id (the broker
# assigns one, so the probe can never evict a running client that shares its certificate).
_PROBE_CONNECT = bytes([0x10, 13, 0, 4]) + b"MQTT" + bytes([5, 0x02]) + struct.pack("!H", 10) + bytes(3)
_DISCONNECT = bytes([0xE0, 0])
_CONNACK = 0x20


def _read_exactly(sock: ssl.SSLSocket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        data += chunk
    return data


def _read_packet(sock: ssl.SSLSocket) -> tuple[int, bytes]:
    """One MQTT packet: (type byte, body); the remaining length is a variable-length integer."""
    kind = _read_exactly(sock, 1)[0]
    length, shift = 0, 0
    for _ in range(4):
        byte = _read_exactly(sock, 1)[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return kind, _read_exactly(sock, length)
    raise ConnectionError("malformed MQTT packet length")


def probe_broker(
    host: str, port: int, ca_file: Path, cert_file: Path, key_file: Path, timeout: float = 3.0
) -> tuple[bool, str]:
    """Can we reach the broker and be accepted by it? (ok, detail) for a health endpoint; never raises.

    Does the TLS handshake (server verified against ``ca_file``, our certificate shown) and an MQTT v5
    CONNECT, because with TLS 1.3 a broker reports a refused client certificate only after the
    handshake.
    """
    try:
        context = tls_context(ca_file, cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        return False, f"cannot load TLS material: {exc}"
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as sock,
        ):
            sock.sendall(_PROBE_CONNECT)
            kind, body = _read_packet(sock)
            if kind != _CONNACK or len(body) < 2:
                return False, f"unexpected reply from {host}:{port} (not an MQTT v5 broker?)"
            reason = body[1]
            if reason != 0:
                return False, f"broker {host}:{port} refused the connection (reason code 0x{reason:02x})"
            sock.sendall(_DISCONNECT)
            return True, f"connected to {host}:{port} over {sock.version()}"
    except ssl.SSLCertVerificationError as exc:
        return False, f"broker certificate not trusted: {exc.verify_message}"
    except (OSError, ssl.SSLError) as exc:
        return False, f"broker {host}:{port} not reachable: {exc}"
