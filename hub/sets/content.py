"""What each replicated set holds, as plain JSON documents, and their canonical bytes.

A set's body is ``{"content": …, "schema": SET_SCHEMA, "set": name}`` encoded with `protocol.codec.encode`:
the same content always gives the same bytes (and SHA-256), so the hub can tell when a set has changed. The
version number is not part of the body; it lives beside it, so an unchanged set keeps its hash.

Today the kiosk configuration and the office schedule are the defaults below; `hub.sets.service.build_bodies`
fills `catalogue` (the registry's) and `polls` and `roll` (`hub.polls.sets`: the open polls, their rolls of
pseudonyms). Nothing personal belongs in a set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from protocol import codec, topics

SET_SCHEMA = 1
"""Version of the body layout above; a kiosk refuses a body of another schema."""

# The kiosk behaviour the hub decides for the whole deployment (the kiosk's own settings are the fallback).
KIOSK_CONFIG: Mapping[str, Any] = {
    "idle_seconds": 90,
    "idle_warning_seconds": 15,
    "default_language": "sv",
    "languages": ["sv", "en"],
    "office_schedule": "schedule",  # opening hours are the schedule set, by name
}

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class TrustMaterial:
    """What the trust set carries: the device CA chain (PEM, one certificate each), revoked device ids, the e-ID
    issuers' CA certificates and revocation lists (PEM), and the hub-signed staff list (`protocol.signed`)."""

    ca_chain: tuple[str, ...] = ()
    revoked_devices: frozenset[str] = frozenset()
    eid_certificates: tuple[str, ...] = ()
    eid_crls: tuple[str, ...] = ()
    staff_list: Mapping[str, Any] | None = None


def config_content() -> dict[str, Any]:
    """The per-deployment kiosk configuration."""
    return {key: list(value) if isinstance(value, list) else value for key, value in KIOSK_CONFIG.items()}


def schedule_content() -> dict[str, Any]:
    """Office opening hours: a placeholder with every weekday closed until staff enter the real hours."""
    return {"timezone": "Europe/Stockholm", "offices": {}, "default_hours": {day: [] for day in WEEKDAYS}}


def trust_content(trust: TrustMaterial) -> dict[str, Any]:
    """Trust anchors for kiosks: the device CA chain and revoked devices, the e-ID issuers' certificates and
    revocation lists, and the signed staff list; sorted so the bytes are stable."""
    content: dict[str, Any] = {
        "ca_chain": list(trust.ca_chain),
        "revoked_devices": sorted(trust.revoked_devices),
        "eid": {"certificates": list(trust.eid_certificates), "crls": list(trust.eid_crls)},
    }
    if trust.staff_list is not None:
        content["staff"] = dict(trust.staff_list)
    return content


def build_documents(trust: TrustMaterial) -> dict[str, dict[str, Any]]:
    """The content of every set in `protocol.topics.SET_NAMES`, by name."""
    documents: dict[str, dict[str, Any]] = {
        "config": config_content(),
        "trust": trust_content(trust),
        "schedule": schedule_content(),
        "polls": {"polls": []},
        "roll": {"polls": {}},
        "catalogue": {"documents": []},
    }
    missing = topics.SET_NAMES - documents.keys()
    assert not missing, f"no builder for set(s) {sorted(missing)}"  # a new set name needs a builder here
    return documents


def encode_set(name: str, content: Mapping[str, Any]) -> bytes:
    """The canonical bytes served for set ``name`` with ``content``; `protocol.codec.EncodeError` if invalid."""
    topics.set_version(name)  # refuses an unknown set name with TopicError
    return codec.encode({"content": dict(content), "schema": SET_SCHEMA, "set": name})


def encode_all(documents: Mapping[str, Mapping[str, Any]]) -> dict[str, bytes]:
    """`encode_set` for every document, by name."""
    return {name: encode_set(name, content) for name, content in documents.items()}
