"""What the kiosk tells the hub about itself: its state and its heartbeat's figures (kiosk/presence.py).

The sync agent publishes them; tests/kiosk/test_kiosk_sync_agent.py proves that over a real broker.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.metadata import version

import pytest

LAST_ACK, EXPIRY = 1_700_000_000_000, 1_800_000_000_000


@pytest.fixture
def sessions(tmp_path):
    from kiosk.store import make_engine, make_session_factory, upgrade

    engine = make_engine(tmp_path / "kiosk.db")
    upgrade(engine, "ange")
    yield make_session_factory(engine)
    engine.dispose()


def test_the_state_payload_is_a_device_state_from_the_device():
    from kiosk.presence import state_payload
    from protocol import topics
    from protocol.messages import decode_up

    state = decode_up(topics.device_up("ange", topics.STATE), state_payload("ange", "offline"))
    assert (state.sender, state.state) == ("ange", "offline")


def test_the_certificate_expiry_is_read_from_the_device_certificate(pki, tmp_path):
    from cryptography import x509

    from kiosk.presence import certificate_expiry_ms

    cert_file = pki.device("ange").cert_file
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    assert certificate_expiry_ms(cert_file) == int(cert.not_valid_after_utc.timestamp() * 1000)
    assert certificate_expiry_ms(None) is None
    assert certificate_expiry_ms(tmp_path / "missing.pem") is None


def test_the_outbox_figures_count_only_undelivered_actions_and_say_when_full(sessions):
    from kiosk import outbox
    from kiosk.presence import OutboxFigures, outbox_figures

    with sessions() as session:
        assert outbox_figures(session, capacity=3) == OutboxFigures(depth=0, oldest_age_s=None, full=False)
    with sessions.begin() as session:
        ids = [outbox.enqueue(session, "note", {"n": n}).id for n in range(3)]
    later = datetime.now(UTC) + timedelta(seconds=90)
    with sessions() as session:
        figures = outbox_figures(session, capacity=3, now=later)
        assert (figures.depth, figures.full) == (3, True)
        assert 89 <= figures.oldest_age_s <= 91
    with sessions.begin() as session:
        outbox.mark_delivered(session, ids[:1])
    with sessions() as session:
        assert outbox_figures(session, capacity=3).full is False


def test_a_heartbeat_carries_the_figures_and_an_unknown_reader():
    from kiosk.presence import AgentFigures, OutboxFigures, heartbeat

    beat = heartbeat(
        "ange",
        OutboxFigures(depth=7, oldest_age_s=12, full=False),
        AgentFigures(uptime_s=30, last_ack_at=LAST_ACK, cert_expires_at=EXPIRY, clock_offset_ms=-40),
    )
    assert (beat.sender, beat.version, beat.uptime_s) == ("ange", version("tinget"), 30)
    assert (beat.outbox_depth, beat.outbox_oldest_age_s) == (7, 12)
    assert (beat.last_ack_at, beat.cert_expires_at, beat.clock_offset_ms) == (LAST_ACK, EXPIRY, -40)
    assert beat.reader_state == "unknown"
