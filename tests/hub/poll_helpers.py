"""Helpers for the polls tests: a hub with a device CA and an e-ID issuer, a draft poll, a key ceremony run by
three trustees through the hub's relay, and real envelopes built the way a kiosk builds them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hub.db import make_engine, make_session_factory, unit_of_work
from hub.ingest.handlers import ActionContext
from hub.polls import ballots, ceremony, drafts, keys, lifecycle, roll
from hub.polls.drafts import PollOption, PollSpec
from hub.settings import HubSettings
from hub.staff import accounts
from hub.staff.roles import Role
from kiosk.voting.casting import DeviceSigner, prepare
from protocol.ballots import keygen
from protocol.ballots.envelope import Envelope
from protocol.ballots.group import Scalar
from protocol.identity import parse_personnummer
from protocol.polls import BALLOT_KIND, PollNotice, ballot_body, voter_pseudonym
from tests.support.eid import ANNA_PERSONNUMMER, RUT_PERSONNUMMER, Issuer

TRUSTEES = ("anna", "bo", "cy")
# Valid personnummer (Luhn) that are on no test card: roll filler.
OTHERS = ("19121212-1212", "19800101-0027")


def poll_settings(settings: HubSettings, pki: Any, issuer: Issuer) -> HubSettings:
    """The test settings with the device CA, its revocation file and the e-ID issuer configured."""
    return dataclasses.replace(
        settings,
        device_api_ca_file=pki.chain,
        device_api_revoked_file=pki.revoked_file,
        eid_ca_file=issuer.ca_dir / "chain.pem",
        eid_crl_dir=issuer.ca_dir / "crl",
    )


def engine_of(settings: HubSettings) -> Engine:
    return make_engine(settings.database_url)


def spec(now: dt.datetime, **changes: Any) -> PollSpec:
    """A single-choice poll open from an hour ago for a day."""
    base = PollSpec(
        title_sv="Ny lekplats",
        title_en="A new playground",
        description_sv="Var ska **lekplatsen** ligga?",
        opens_at=now - dt.timedelta(hours=1),
        closes_at=now + dt.timedelta(days=1),
        options=(PollOption("park", "Parken", "The park"), PollOption("school", "Skolan", "The school")),
    )
    return dataclasses.replace(base, **changes)


def add_trustees(session: Session) -> None:
    for name in TRUSTEES:
        accounts.add_staff(
            session,
            username=name,
            display_name=name.capitalize(),
            password="korrekt häst batteri häftklammer",
            roles=(Role.STAFF,),
            totp_key=b"k" * 32,
            actor="test",
        )


def relay_ceremony(session: Session, poll_id: str) -> dict[int, Scalar]:
    """Three trustees run the three rounds, every file through the hub's upload and download; their shares."""
    cer = keygen.Ceremony.from_json(ceremony.ceremony_json(session, poll_id))
    started = {i: keygen.start(cer, i) for i in cer.indices}
    for i, (_s, announcement) in started.items():
        ceremony.upload_round(
            session, poll_id, keygen.round_file("announce", poll_id, announcement.to_json()), actor=TRUSTEES[i - 1]
        )
    announced = [
        keygen.Announcement.from_json(f["body"], cer) for f in ceremony.round_files(session, poll_id, "announce")
    ]
    for i, (secrets, _a) in started.items():
        sealed = keygen.deliver(cer, secrets, announced)
        body = {"from": i, "shares": {str(j): box for j, box in sealed.items()}}
        ceremony.upload_round(session, poll_id, keygen.round_file("deliver", poll_id, body), actor=TRUSTEES[i - 1])
    deliveries = [f["body"] for f in ceremony.round_files(session, poll_id, "deliver")]
    shares = {}
    for j, (secrets, _a) in started.items():
        delivered = {d["from"]: d["shares"][str(j)] for d in deliveries if d["from"] != j}
        shares[j], confirmation = keygen.finish(cer, secrets, announced, delivered)
        ceremony.upload_round(
            session, poll_id, keygen.round_file("confirm", poll_id, confirmation.to_json()), actor=TRUSTEES[j - 1]
        )
    return shares


def open_poll(
    settings: HubSettings,
    poll_id: str,
    now: dt.datetime,
    *,
    voters: tuple[str, ...] = (ANNA_PERSONNUMMER, RUT_PERSONNUMMER, *OTHERS),
    trustees: bool = True,
    **changes: Any,
) -> dict[int, Scalar]:
    """A poll with ``voters`` on its roll (anna, rut and two others), trustees 2 of 3, its key made, opened.
    The trustees' shares. ``trustees=False`` when the accounts exist already (a second poll)."""
    engine = engine_of(settings)
    with unit_of_work(make_session_factory(engine)) as session:
        if trustees:
            add_trustees(session)
        drafts.create_poll(session, poll_id, spec(now, **changes), actor="test")
        numbers = "\n".join(("personnummer", *voters)).encode()
        roll.import_roll(session, poll_id, numbers, roll_key=keys.roll_key(settings, poll_id), actor="test")
        ceremony.set_trustees(session, poll_id, 2, list(TRUSTEES), actor="test")
        shares = relay_ceremony(session, poll_id)
        lifecycle.open_poll(session, poll_id, actor="test", now=now)
    engine.dispose()
    return shares


def notice(settings: HubSettings, session: Session, poll_id: str) -> PollNotice:
    from hub.polls.sets import notice_of

    return notice_of(settings, drafts.get_poll(session, poll_id))


def device(pki: Any, device_id: str) -> DeviceSigner:
    credential = pki.device(device_id)
    key = serialization.load_pem_private_key(credential.key_file.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return DeviceSigner(key, credential.cert_file.read_text(), device_id)


def card_signer(issuer: Issuer, name: str) -> Any:
    """What the card does: sign SHA-256 of the data (ECDSA P-256, or RSA PKCS#1 v1.5)."""
    key = issuer.card(name).private_key()

    def sign(data: bytes) -> bytes:
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return key.sign(data, ec.ECDSA(hashes.SHA256()))

    return sign


def envelope(
    settings: HubSettings,
    notice_: PollNotice,
    issuer: Issuer,
    signer: DeviceSigner,
    *,
    card: str = "anna",
    chosen: frozenset[int] = frozenset({0}),
    at: dt.datetime,
    personnummer: str | None = None,
) -> Envelope:
    """A complete envelope from ``card`` at ``at``, as a kiosk makes it."""
    certificate = issuer.card(card).certificate()
    pnr = parse_personnummer(personnummer or _personnummer_of(card))
    return prepare(
        notice_,
        chosen,
        pseudonym=voter_pseudonym(notice_.roll_key, pnr, notice_.poll_id),
        seal_key=keys.seal_key(settings).public,
        certificate_der=certificate.public_bytes(serialization.Encoding.DER),
        card_sign=card_signer(issuer, card),
        device=signer,
        now=at,
    )


def _personnummer_of(card: str) -> str:
    from tests.support.eid import CARDS

    return str(CARDS[card].get("personnummer", ANNA_PERSONNUMMER))


def sign(settings: HubSettings, env: Envelope, issuer: Issuer, signer: DeviceSigner, card: str = "anna") -> Envelope:
    """Fill in the card's signature, the sealed certificate and the device's signature of ``env``."""
    from protocol.ballots.envelope import card_signing_bytes
    from protocol.polls import seal_certificate

    der = issuer.card(card).certificate().public_bytes(serialization.Encoding.DER)
    env = dataclasses.replace(
        env,
        card_signature=card_signer(issuer, card)(card_signing_bytes(env)).hex(),
        sealed_certificate=seal_certificate(der, keys.seal_key(settings).public),
    )
    return resign(env, signer)


def resign(env: Envelope, signer: DeviceSigner) -> Envelope:
    """The device's signature made again over a changed envelope."""
    from protocol.ballots.envelope import device_signing_bytes

    signature = signer.key.sign(
        device_signing_bytes(dataclasses.replace(env, device_signature="")), ec.ECDSA(hashes.SHA256())
    )
    return dataclasses.replace(env, device_signature=signature.hex())


def action(env: Envelope, signer: DeviceSigner, *, sender: str | None = None, body: Any = None) -> ActionContext:
    return ActionContext(
        device_id=sender or signer.device_id,
        msg_id=env.tracking_hash[:32],
        kind=BALLOT_KIND,
        created_at_ms=env.cast_at,
        body=body if body is not None else ballot_body(env, signer.certificate_pem),
    )


def ingest(settings: HubSettings, act: ActionContext, now: dt.datetime) -> str:
    """Run the ballot handler on one action in its own transaction; the entry's status."""
    engine = engine_of(settings)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            return ballots.handle_ballot(session, act, ballots.load_materials(settings), now=now)
    finally:
        engine.dispose()


def foreign_device_pem(device_id: str, tmp: Path) -> str:
    """A self-signed certificate named like a device: it chains to no device CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, device_id)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()
