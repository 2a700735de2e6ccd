"""The MQTT topic tree (DESIGN.md decision 3). Every topic name and filter in Tinget is built here.

All topics live under ``tinget/v1/``::

    tinget/v1/kiosk/{device}/up/{kind}     device → hub   actions, heartbeat, state (retained; last will)
    tinget/v1/kiosk/{device}/down/{kind}   hub → device   ack, command
    tinget/v1/sets/{name}                  hub → all      retained version notice of a replicated set
    tinget/v1/office/{office}/presence     hub → all      retained presence board of a service office

Device ids, office ids and kinds are ASCII slugs (`SLUG`): they can never contain the MQTT wildcards ``+`` and
``#`` or a level separator ``/``. The broker's ACL ties ``{device}`` to the CN of the client certificate, so a
device can publish only under its own ``up/`` and read only its own ``down/`` plus the shared ``sets/`` and
``office/`` trees (SEC-17). Anything that does not parse raises `TopicError`.
"""

from __future__ import annotations

import re

PREFIX = "tinget/v1"

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
"""Device ids, office ids, kinds, group names: lower-case ASCII letters, digits and ``-``, 1-63 long."""

# Kinds a device publishes under kiosk/{device}/up/{kind}.
ACTIONS = "actions"  # an ActionBatch from the outbox (QoS 1, acked by the hub's application Ack)
HEARTBEAT = "heartbeat"  # a Heartbeat every minute or so (QoS 0)
STATE = "state"  # DeviceState online/offline, retained; "offline" is also the last will
UP_KINDS: frozenset[str] = frozenset({ACTIONS, HEARTBEAT, STATE})

# Kinds the hub publishes under kiosk/{device}/down/{kind}.
ACK = "ack"  # Ack of an ActionBatch: the listed actions are durably stored at the hub
COMMAND = "command"  # Command: reload, resync, restart
DOWN_KINDS: frozenset[str] = frozenset({ACK, COMMAND})

# Replicated sets announced, retained, under sets/{name} (the content itself is fetched over HTTPS).
SET_NAMES: frozenset[str] = frozenset({"config", "polls", "trust", "roll", "catalogue", "schedule"})

INGEST_GROUP = "ingest"


class TopicError(ValueError):
    """A topic name, or a part of one, is not in Tinget's topic tree; the message says which part and why."""


def check_slug(value: str, what: str = "id") -> str:
    """Return ``value`` if it is a valid slug (device id, office id, kind), else raise `TopicError`."""
    if not isinstance(value, str) or SLUG.fullmatch(value) is None:
        raise TopicError(f"{what} {value!r} is not a slug (1-63 characters of a-z, 0-9 and '-', not starting with '-')")
    return value


def _check_member(value: str, known: frozenset[str], what: str) -> str:
    check_slug(value, what)
    if value not in known:
        raise TopicError(f"unknown {what} {value!r} (known: {', '.join(sorted(known))})")
    return value


def device_up(device: str, kind: str) -> str:
    """Topic a device publishes to: ``tinget/v1/kiosk/{device}/up/{kind}``, kind one of `UP_KINDS`."""
    return f"{PREFIX}/kiosk/{check_slug(device, 'device id')}/up/{_check_member(kind, UP_KINDS, 'up kind')}"


def device_down(device: str, kind: str) -> str:
    """Topic the hub publishes to for one device: ``tinget/v1/kiosk/{device}/down/{kind}``."""
    device = check_slug(device, "device id")
    return f"{PREFIX}/kiosk/{device}/down/{_check_member(kind, DOWN_KINDS, 'down kind')}"


def set_version(name: str) -> str:
    """Retained topic announcing the current version of a replicated set: ``tinget/v1/sets/{name}``."""
    return f"{PREFIX}/sets/{_check_member(name, SET_NAMES, 'set name')}"


def office_presence(office: str) -> str:
    """Retained topic with one service office's presence board: ``tinget/v1/office/{office}/presence``."""
    return f"{PREFIX}/office/{check_slug(office, 'office id')}/presence"


def ingest_subscription(group: str = INGEST_GROUP) -> str:
    """The hub ingest's MQTT v5 shared subscription to every device's up topics.

    ``$share/{group}/tinget/v1/kiosk/+/up/#``: the broker hands each message to one worker of the group, so
    more ingest workers can be added without processing anything twice.
    """
    return f"$share/{check_slug(group, 'share group')}/{PREFIX}/kiosk/+/up/#"


def device_down_subscription(device: str) -> str:
    """What a device subscribes to for its own acks and commands: ``tinget/v1/kiosk/{device}/down/+``."""
    return f"{PREFIX}/kiosk/{check_slug(device, 'device id')}/down/+"


def sets_subscription() -> str:
    """What a device subscribes to for the retained set versions: ``tinget/v1/sets/+``."""
    return f"{PREFIX}/sets/+"


def presence_subscription() -> str:
    """Filter for every office's retained presence board: ``tinget/v1/office/+/presence``."""
    return f"{PREFIX}/office/+/presence"


def device_acl_rules() -> tuple[tuple[str, str], ...]:
    """Mosquitto ``acl_file`` pattern rules for devices, as (access, pattern); ``%u`` is the certificate's CN.

    A device writes only under its own ``up/``, reads its own ``down/`` and the shared ``sets/`` and
    ``office/`` trees (SEC-17).
    """
    return (
        ("write", f"{PREFIX}/kiosk/%u/up/#"),
        ("read", f"{PREFIX}/kiosk/%u/down/#"),
        ("read", f"{PREFIX}/sets/#"),
        ("read", f"{PREFIX}/office/#"),
    )


def hub_acl_rules() -> tuple[tuple[str, str], ...]:
    """Mosquitto ``acl_file`` topic rules for the hub's own certificate, as (access, topic filter)."""
    return (
        ("read", f"{PREFIX}/kiosk/+/up/#"),
        ("write", f"{PREFIX}/kiosk/+/down/#"),
        ("readwrite", f"{PREFIX}/sets/#"),
        ("readwrite", f"{PREFIX}/office/#"),
    )


def _split_device_topic(topic: str, direction: str, known: frozenset[str]) -> tuple[str, str]:
    if not isinstance(topic, str):
        raise TopicError(f"topic must be text, got {type(topic).__name__}")
    parts = topic.split("/")
    shown = topic[:200]
    if len(parts) != 6 or "/".join(parts[:3]) != f"{PREFIX}/kiosk" or parts[4] != direction:
        raise TopicError(f"topic {shown!r} is not of the form {PREFIX}/kiosk/{{device}}/{direction}/{{kind}}")
    device, kind = parts[3], parts[5]
    check_slug(device, "device id")
    _check_member(kind, known, f"{direction} kind")
    return device, kind


def parse_device_up(topic: str) -> tuple[str, str]:
    """Split a received ``tinget/v1/kiosk/{device}/up/{kind}`` topic into (device, kind).

    Raises `TopicError` for anything else: another tree, a wildcard, an invalid device id, an unknown kind.
    """
    return _split_device_topic(topic, "up", UP_KINDS)


def parse_device_down(topic: str) -> tuple[str, str]:
    """Split a received ``tinget/v1/kiosk/{device}/down/{kind}`` topic into (device, kind), or TopicError."""
    return _split_device_topic(topic, "down", DOWN_KINDS)


def parse_set_version(topic: str) -> str:
    """The set name of a received ``tinget/v1/sets/{name}`` topic; `TopicError` for anything else."""
    head = f"{PREFIX}/sets/"
    if not isinstance(topic, str) or not topic.startswith(head) or "/" in topic[len(head) :]:
        raise TopicError(f"topic {str(topic)[:200]!r} is not of the form {head}{{name}}")
    return _check_member(topic[len(head) :], SET_NAMES, "set name")


def parse_office_presence(topic: str) -> str:
    """The office id of a received ``tinget/v1/office/{office}/presence`` topic, or `TopicError`."""
    parts = topic.split("/") if isinstance(topic, str) else []
    if len(parts) != 5 or "/".join(parts[:3]) != f"{PREFIX}/office" or parts[4] != "presence":
        raise TopicError(f"topic {str(topic)[:200]!r} is not of the form {PREFIX}/office/{{office}}/presence")
    return check_slug(parts[3], "office id")
