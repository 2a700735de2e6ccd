"""The sign-in flow on a card: PIN, proof of possession, refusals (SEC-02, SEC-03), against the card model."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.card import CardRemoved, InvalidPinFormat, WrongPin
from kiosk.card.model import PivCardModel
from kiosk.card.piv import PivCard
from kiosk.eid import signin
from protocol.eid import HolderKind
from protocol.eid_validation import Reason, Refused
from tests.support.eid import PIN
from tests.support.pii import find_personnummer


def _now() -> dt.datetime:
    """Now, asked for when a test runs (the session's test cards are made when first needed, after collection)."""
    return dt.datetime.now(dt.UTC)


def _begin(issuer, model: PivCardModel, **trust_options):
    return signin.begin(PivCard(model.transmit), issuer.trust(**trust_options), _now())


def _sign_in(issuer, model: PivCardModel, pin: str = PIN, **trust_options) -> signin.Visitor:
    card = PivCard(model.transmit)
    pending = signin.begin(card, issuer.trust(**trust_options), _now())
    return signin.complete(card, pending, pin, device_id="ange", now=_now())


@pytest.mark.parametrize("name", ["anna", "rut"])
def test_a_resident_signs_in_with_the_right_pin(eid_issuer, name) -> None:
    """P-256 and RSA-2048 cards both prove possession of their key."""
    visitor = _sign_in(eid_issuer, eid_issuer.model(name))
    assert visitor.kind is HolderKind.RESIDENT
    assert visitor.roles == ()
    assert visitor.birth_year in (1985, 1990)
    assert find_personnummer(repr(visitor)) == []


def test_a_staff_card_signs_in_with_the_roles_of_the_signed_staff_list(eid_issuer) -> None:
    visitor = _sign_in(eid_issuer, eid_issuer.model("staff"))
    assert visitor.kind is HolderKind.STAFF
    assert visitor.roles == ("registrar", "staff")
    assert visitor.given_name == "Karin"


def test_a_staff_card_missing_from_the_staff_list_is_refused(eid_issuer) -> None:
    with pytest.raises(Refused) as refused:
        _begin(eid_issuer, eid_issuer.model("staff"), staff_roles={})
    assert refused.value.reason is Reason.STAFF_UNKNOWN


def test_a_wrong_pin_tells_the_tries_left_and_the_right_one_still_works(eid_issuer) -> None:
    """SEC-03: the card counts; the flow shows what it says."""
    model = eid_issuer.model("anna")
    card = PivCard(model.transmit)
    pending = signin.begin(card, eid_issuer.trust(), _now())
    assert pending.tries_left == 3
    with pytest.raises(WrongPin) as wrong:
        signin.complete(card, pending, "11111111", device_id="ange", now=_now())
    assert wrong.value.tries_left == 2
    assert signin.complete(card, pending, PIN, device_id="ange", now=_now()).given_name == "Anna"


def test_a_blocked_card_is_refused_before_the_pin_is_asked(eid_issuer) -> None:
    """SEC-03: tries left 0 — refused at once."""
    model = eid_issuer.model("anna")
    model.tries_left = 0
    with pytest.raises(Refused) as refused:
        _begin(eid_issuer, model)
    assert refused.value.reason is Reason.PIN_BLOCKED


def test_the_last_wrong_pin_blocks_the_card_and_refuses_it(eid_issuer) -> None:
    model = eid_issuer.model("anna")
    model.tries_left = 1
    card = PivCard(model.transmit)
    pending = signin.begin(card, eid_issuer.trust(), _now())
    with pytest.raises(Refused) as refused:
        signin.complete(card, pending, "11111111", device_id="ange", now=_now())
    assert refused.value.reason is Reason.PIN_BLOCKED


def test_a_malformed_pin_uses_no_try(eid_issuer) -> None:
    model = eid_issuer.model("anna")
    card = PivCard(model.transmit)
    pending = signin.begin(card, eid_issuer.trust(), _now())
    with pytest.raises(InvalidPinFormat):
        signin.complete(card, pending, "12", device_id="ange", now=_now())
    assert model.tries_left == 3


def test_a_replayed_signature_does_not_start_a_session(eid_issuer) -> None:
    """SEC-02: the card answers every challenge with a signature it made earlier: the fresh challenge fails it."""
    model = eid_issuer.model("anna", replay_signatures=True)
    _sign_in(eid_issuer, model)  # its first signature is genuine, for that moment's challenge
    model.reset()
    with pytest.raises(Refused) as refused:
        _sign_in(eid_issuer, model)
    assert refused.value.reason is Reason.SIGNATURE_INVALID


def test_a_card_signing_with_another_key_than_its_certificate_is_refused(eid_issuer) -> None:
    """SEC-02: a foreign signature — a copied certificate on a card with another key."""
    model = eid_issuer.model("anna", signing_key=ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(Refused) as refused:
        _sign_in(eid_issuer, model)
    assert refused.value.reason is Reason.SIGNATURE_INVALID


def test_a_card_without_the_piv_application_is_not_an_e_id(eid_issuer) -> None:
    with pytest.raises(Refused) as refused:
        _begin(eid_issuer, eid_issuer.model("anna", has_piv=False))
    assert refused.value.reason is Reason.NOT_AN_EID


def test_every_challenge_is_fresh(eid_issuer) -> None:
    """SEC-02: two sign-ins at the same moment still sign different challenges (a fresh nonce each)."""
    seen: list[bytes] = []
    model = eid_issuer.model("anna")
    original = model._raw_sign

    def spy(challenge: bytes) -> bytes | None:
        seen.append(challenge)
        return original(challenge)

    model._raw_sign = spy  # type: ignore[method-assign]
    _sign_in(eid_issuer, model)
    model.reset()
    _sign_in(eid_issuer, model)
    assert len(seen) == 2 and seen[0] != seen[1]


def test_a_card_pulled_after_each_apdu_never_signs_anyone_in(eid_issuer) -> None:
    """SEC-10 (card side): pulled after APDU n for every n, the flow ends in CardRemoved, nothing else."""
    total = eid_issuer.model("anna")
    _sign_in(eid_issuer, total)
    for pull_after in range(1, total.apdu_count):
        model = eid_issuer.model("anna")
        original = model.transmit

        def transmit(apdu, model=model, original=original, pull_after=pull_after):
            if model.apdu_count >= pull_after:
                model.remove()
            return original(apdu)

        model.transmit = transmit  # type: ignore[method-assign]
        with pytest.raises(CardRemoved):
            _sign_in(eid_issuer, model)


def test_the_pin_appears_in_no_log_record(eid_issuer, caplog) -> None:
    """SEC-03, SEC-14: a whole sign-in, a wrong PIN included, logs neither the PIN nor the personnummer."""
    caplog.set_level(logging.DEBUG)
    model = eid_issuer.model("anna")
    card = PivCard(model.transmit)
    pending = signin.begin(card, eid_issuer.trust(), _now())
    with pytest.raises(WrongPin):
        signin.complete(card, pending, "13572468", device_id="ange", now=_now())
    signin.complete(card, pending, PIN, device_id="ange", now=_now())
    text = "\n".join(f"{record.getMessage()} {vars(record)}" for record in caplog.records)
    assert PIN not in text and "13572468" not in text
    assert find_personnummer(text) == []


@settings(max_examples=40, deadline=None)
@given(attempts=st.lists(st.booleans(), min_size=1, max_size=8))
def test_the_tries_left_follow_the_card_whatever_the_sequence(eid_issuer, attempts) -> None:
    """SEC-03 property: right PINs reset the counter to 3, wrong ones count down, at 0 the card is refused."""
    model = eid_issuer.model("anna")
    card = PivCard(model.transmit)
    pending = signin.begin(card, eid_issuer.trust(), _now())
    expected = 3
    for right in attempts:
        if expected == 0:
            with pytest.raises(Refused):
                signin.begin(PivCard(model.transmit), eid_issuer.trust(), _now())
            break
        try:
            signin.complete(card, pending, PIN if right else "99999999", device_id="ange", now=_now())
            expected = 3
        except WrongPin as wrong:
            expected -= 1
            assert not right and wrong.tries_left == expected
        except Refused as refused:
            expected -= 1
            assert not right and expected == 0 and refused.reason is Reason.PIN_BLOCKED
        model.reset()
        card = PivCard(model.transmit)
        assert card.pin_tries_left() == expected
