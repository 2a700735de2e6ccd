"""A full outbox: new actions are refused with a clear error and a banner; nothing confirmed is dropped."""

from __future__ import annotations

import dataclasses
import json

import pytest
from click.testing import CliRunner

from tests.kiosk.pages import csrf_token, text_of

CAPACITY = 2
BANNER_SV = "Kiosken kan inte spara fler åtgärder just nu."
BANNER_EN = "The kiosk cannot save any more actions right now."


@pytest.fixture
def small_settings(kiosk_settings):
    return dataclasses.replace(kiosk_settings, outbox_capacity=CAPACITY)


@pytest.fixture
def sessions(small_settings):
    from kiosk.store import make_engine, make_session_factory, upgrade

    engine = make_engine(small_settings.database)
    upgrade(engine, "ange")
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def small_app(small_settings, sessions):
    from kiosk import outbox
    from kiosk.app import create_app
    from kiosk.web import runtime
    from kiosk.web.capacity import needs_outbox_room

    app = create_app(small_settings)

    @needs_outbox_room
    def start_signing() -> str:  # a view that starts an action, as the proposal flow will
        return "signing"

    def confirm() -> str:  # a view that stores an action without asking first
        with runtime().sessions.begin() as session:
            return outbox.enqueue(session, "note", {}, capacity=runtime().settings.outbox_capacity).id

    app.add_url_rule("/test/sign", view_func=start_signing)
    app.add_url_rule("/test/confirm", view_func=confirm)
    yield app
    with app.app_context():
        runtime().engine.dispose()


def fill(sessions, count: int = CAPACITY) -> list[str]:
    from kiosk import outbox

    with sessions.begin() as session:
        return [outbox.enqueue(session, "note", {"n": n}, capacity=CAPACITY).id for n in range(count)]


def test_enqueue_at_capacity_raises_outbox_full_and_stores_nothing(sessions):
    """SEC-11: an action the kiosk cannot keep is refused before it is confirmed, never dropped later."""
    from kiosk import outbox

    ids = fill(sessions)
    with pytest.raises(outbox.OutboxFull, match="the outbox is full") as caught, sessions.begin() as session:
        outbox.enqueue(session, "note", {"n": 99}, capacity=CAPACITY)
    assert (caught.value.depth, caught.value.capacity) == (CAPACITY, CAPACITY)
    with sessions() as session:
        assert [m.id for m in outbox.pending(session)] == ids
    with sessions.begin() as session:
        outbox.mark_delivered(session, ids[:1])
        outbox.enqueue(session, "note", {"n": 3}, capacity=CAPACITY)  # room again once the hub acked one


def test_the_banner_shows_on_every_page_while_the_outbox_is_full(small_app, sessions):
    client = small_app.test_client()
    assert BANNER_SV not in text_of(client.get("/"))
    fill(sessions)
    page = text_of(client.get("/"))
    assert BANNER_SV in page
    assert "Inget av det du redan har gjort har gått förlorat" in page
    assert 'role="alert"' in page
    client.post("/lang/en", data={"csrf_token": csrf_token(client), "next": "/"})
    assert BANNER_EN in text_of(client.get("/service/staff"))


def test_new_actions_are_refused_with_a_page_that_says_why(small_app, sessions):
    client = small_app.test_client()
    assert text_of(client.get("/test/sign")) == "signing"
    fill(sessions)
    for path in ("/test/sign", "/test/confirm"):
        response = client.get(path)
        assert response.status_code == 503
        page = text_of(response)
        assert "Kiosken kan inte spara fler åtgärder just nu" in page
        assert "Tillbaka till start" in page
        assert "Traceback" not in page
    with sessions() as session:
        from kiosk import outbox

        assert outbox.depth(session) == CAPACITY


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'device_id = "ange"\noffice_name = "Änge"\ndata_dir = "{tmp_path / "data"}"\noutbox_capacity = 2\n',
        encoding="utf-8",
    )
    return path


def test_the_act_tool_stores_one_action_and_prints_its_id_until_the_outbox_is_full(config_file, tmp_path):
    from sqlalchemy import select

    from kiosk.cli import kiosk
    from kiosk.models import OutboxMessage
    from kiosk.store import make_engine, make_session_factory

    runner = CliRunner()
    help_text = runner.invoke(kiosk, ["act", "--help"]).output
    assert "Developer and demo tool" in help_text
    printed = []
    for n in range(2):
        body = json.dumps({"n": n})
        result = runner.invoke(kiosk, ["act", "checkin", "--body", body, "--config", str(config_file)])
        assert result.exit_code == 0, result.output
        printed.append(result.output.strip().splitlines()[-1])
    full = runner.invoke(kiosk, ["act", "checkin", "--config", str(config_file)])
    assert full.exit_code == 1
    assert "the outbox is full" in full.output
    bad = runner.invoke(kiosk, ["act", "checkin", "--body", "[1]", "--config", str(config_file)])
    assert bad.exit_code == 2 and "JSON object" in bad.output

    engine = make_engine(tmp_path / "data" / "kiosk.db")
    with make_session_factory(engine)() as session:
        stored = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    engine.dispose()
    assert [m.id for m in stored] == printed
    assert [json.loads(m.body) for m in stored] == [{"n": 0}, {"n": 1}]
