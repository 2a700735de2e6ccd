"""``tinget hub sets publish`` as a service: build every set, store the changed ones, announce them all."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hub.db import make_session_factory, unit_of_work
from hub.sets import announce as announcer
from hub.sets.content import build_documents, encode_all
from hub.sets.publication import PublishedSet, announcement, publish
from hub.sets.staff_list import signed_staff_list
from hub.sets.trust import TrustError, read_trust
from hub.settings import HubSettings
from hub.staff.cards import card_roles
from protocol.messages import MAX_SET_BYTES


def build_bodies(settings: HubSettings, session: Session) -> dict[str, bytes]:
    """The canonical bytes every set would have now; `hub.sets.trust.TrustError` if a PKI file is unreadable.

    The trust set carries the e-ID issuers and the signed staff list; the catalogue is the registry's
    (`hub.registry.catalogue.manifest`); the polls and roll sets are the open polls' (`hub.polls.sets`)."""
    from hub.polls.sets import polls_content, roll_content
    from hub.registry.catalogue import manifest

    trust = read_trust(
        settings.device_api_ca_file,
        settings.device_api_revoked_file,
        settings.eid_ca_file,
        settings.eid_crl_dir,
        signed_staff_list(settings, card_roles(session)),
    )
    documents = build_documents(trust)
    documents["catalogue"] = manifest(session, settings.public_url)
    documents["polls"] = polls_content(settings, session)
    documents["roll"] = roll_content(session)
    bodies = encode_all(documents)
    for name, body in bodies.items():
        if len(body) > MAX_SET_BYTES:
            raise TrustError(
                f"the {name} set would be {len(body)} bytes, more than kiosks accept ({MAX_SET_BYTES}); "
                "for the trust set: fewer or smaller revocation lists in eid_crl_dir"
            )
    return bodies


def publish_sets(settings: HubSettings, engine: Engine, *, actor: str, announce: bool = True) -> list[PublishedSet]:
    """(Re)build all sets, store a new version of each changed one (audited), then announce every current one.

    The versions are committed before any notice goes out, so a kiosk is never told of a version the device
    API cannot serve. `hub.sets.announce.AnnounceError` if the broker does not take the notices; the stored
    versions stay, and running the command again announces them.
    """
    if announce:
        announcer.credentials(settings)  # a configuration error is found before anything is stored
    with unit_of_work(make_session_factory(engine)) as session:
        published = publish(session, build_bodies(settings, session), actor=actor)
    if announce:
        announcer.announce(settings, [announcement(item) for item in published])
    return published
