"""The election officer's draft form for every method, editing until the poll opens, and the result chart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.app import create_app
from hub.db import utcnow
from hub.settings import HubSettings
from hub.staff.roles import Role
from hub.web.context import EXTENSION
from hub.web.poll_chart import result_chart, share
from hub.web.poll_forms import local
from tests.hub import poll_helpers as ph
from tests.hub.test_polls_web import create_draft, member_client, post, text
from tests.support.eid import Issuer

NEW = "/admin/polls/new"


@pytest.fixture
def hub(settings: HubSettings, pki: Any, eid_issuer: Issuer) -> HubSettings:
    return ph.poll_settings(settings, pki, eid_issuer)


@pytest.fixture
def poll_app(hub: HubSettings) -> Iterator[Flask]:
    application = create_app(hub)
    application.config["TESTING"] = True
    yield application
    application.extensions[EXTENSION].engine.dispose()


@pytest.fixture
def officer(poll_app: Flask) -> FlaskClient:
    return member_client(poll_app, "eva", Role.ELECTION_OFFICER)


def draft_form(poll_id: str, **changes: str) -> dict[str, Any]:
    now = utcnow()
    form = {
        "poll_id": poll_id,
        "title_sv": "Nytt bibliotek i Änge?",
        "title_en": "",
        "description_sv": "",
        "description_en": "",
        "options": "",
        "method": "yes-no-abstain",
        "opens_at": local(now + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": local(now + dt.timedelta(days=8)).strftime("%Y-%m-%dT%H:%M"),
        "revote": "first",
        "min_age": "",
    }
    return {**form, **changes}


def test_a_yes_no_abstain_poll_needs_no_options_and_an_approval_poll_has_limits(officer: FlaskClient) -> None:
    assert post(officer, NEW, draft_form("bibliotek"), page=NEW).status_code == 302
    page = text(officer.get("/admin/polls/bibliotek"))
    assert "Ja / Yes" in page and "Avstår / Abstain" in page and "The first ballot counts" in page
    approval = draft_form(
        "parker",
        method="approval",
        options="a | Ängeparken\nb | Föllingeparken\nc | Hammerdal",
        min_selections="1",
        max_selections="2",
    )
    assert post(officer, NEW, approval, page=NEW).status_code == 302
    assert "Several options (1–2)" in text(officer.get("/admin/polls/parker"))
    too_many = draft_form("fel", method="approval", options="a | A\nb | B", min_selections="1", max_selections="3")
    answer = post(officer, NEW, too_many, page=NEW)
    assert answer.status_code == 400 and "The hub refused" in text(answer)


def test_the_form_keeps_swedish_time(officer: FlaskClient) -> None:
    """An officer's 08:00 is 08:00 in Krokom, summer or winter (stored in UTC, shown back in Swedish time)."""
    form = draft_form("sommar", opens_at="2027-06-01T08:00", closes_at="2027-06-14T20:00")
    assert post(officer, NEW, form, page=NEW).status_code == 302
    page = text(officer.get("/admin/polls/sommar"))
    assert "2027-06-01 08:00" in page and "2027-06-14 20:00" in page
    edit = text(officer.get("/admin/polls/sommar/edit"))
    assert 'value="2027-06-01T08:00"' in edit


def test_a_draft_is_edited_until_it_opens(poll_app: Flask, officer: FlaskClient, hub: Any) -> None:
    create_draft(officer, "utkast")
    edit = "/admin/polls/utkast/edit"
    assert 'value="park | Parken | The park' not in text(officer.get(edit))  # the options are in the text area
    assert "park | Parken | The park" in text(officer.get(edit))
    changed = draft_form("ignored", method="single", title_sv="Ny lekplats i Föllinge", options="x | X\ny | Y")
    answer = post(officer, edit, changed, page=edit)
    assert answer.status_code == 302
    page = text(officer.get("/admin/polls/utkast"))
    assert "Ny lekplats i Föllinge" in page and "<code>utkast</code>" in page

    ph.open_poll(hub, "oppen", utcnow())  # opened through the service, as the CLI does
    answer = post(officer, "/admin/polls/oppen/edit", changed, page="/admin/polls/oppen/edit")
    assert answer.status_code == 400 and "That cannot be done now: the poll is Open for voting." in text(answer)
    assert officer.get("/admin/polls/finns-inte/edit").status_code == 404


def test_the_result_chart_scales_to_the_most_votes_and_cuts_long_labels() -> None:
    chart = result_chart([("Parken", 30), ("Skolan" * 10, 10), ("Ingen", 0)], 40)
    widths = [bar.width for bar in chart.bars]
    assert widths[0] == 250 and widths[1] == round(250 / 3) and widths[2] == 0
    assert [bar.percent for bar in chart.bars] == [75.0, 25.0, 0.0]
    assert chart.bars[1].label.endswith("…") and len(chart.bars[1].label) == 44
    assert chart.height == 4 + 3 * 56 + 4 and chart.width == 360
    assert share(1, 0) == 0.0


def test_the_public_board_is_paged_newest_first_and_shows_why_an_entry_was_rejected(
    poll_app: Flask, hub: HubSettings
) -> None:
    """SEC-14: the board shows codes and statuses, never the voter's pseudonym."""
    import secrets

    from hub.db import make_session_factory, unit_of_work
    from hub.polls.models import BoardRow
    from protocol.ballots.ballot import short_code

    ph.open_poll(hub, "sida", utcnow())
    engine = ph.engine_of(hub)
    trackings = [secrets.token_hex(32) for _ in range(120)]
    with unit_of_work(make_session_factory(engine)) as session:
        for seq, tracking in enumerate(trackings):
            rejected = seq == 0
            session.add(
                BoardRow(
                    poll_id="sida",
                    seq=seq,
                    tracking=tracking,
                    code=short_code(tracking).replace("-", ""),
                    hash=secrets.token_hex(32),
                    voter=None if rejected else "f" * 64,
                    cast_at=None,
                    status="rejected" if rejected else "counted",
                    reason="the ballot's proofs do not hold" if rejected else None,
                    entry="{}",
                    device_id="ange",
                    received_at=utcnow(),
                )
            )
    engine.dispose()
    resident = poll_app.test_client()
    first = text(resident.get("/val/sida?lang=en"))
    assert short_code(trackings[-1]) in first and short_code(trackings[69]) not in first
    assert "Page 1 of 3" in first and "f" * 64 not in first
    last = text(resident.get("/val/sida?page=3"))
    assert short_code(trackings[0]) in last and "Rejected: a proof in the ballot does not hold" in last
    assert "Page 3 of 3" in last
    found = text(resident.get(f"/val/sida?kod={short_code(trackings[0]).replace('-', '')}&lang=en"))
    assert "Rejected." in found and "Reason: a proof in the ballot does not hold" in found
    assert resident.get("/val/sida?page=99").status_code == 200


def test_nonsense_in_any_officer_form_is_a_400_with_the_form_never_a_500(officer: FlaskClient) -> None:
    """SEC-19: malformed input gets a clear answer and stops nothing else."""
    create_draft(officer, "robust")
    page = "/admin/polls/robust"
    bad_drafts = [
        {"method": "bogus"},
        {"revote": "sometimes"},
        {"min_age": "-5"},
        {"min_age": "many"},
        {"opens_at": "tomorrow"},
        {"options": "a | A\na | A"},
        {"options": "Ä Ö | Å"},
        {"method": "approval", "options": "a | A\nb | B", "min_selections": "0", "max_selections": "x"},
        {"poll_id": "x" * 80},
        {"title_sv": ""},
        {"kind": "bogus"},
        {"kind": "named", "roles": ["staff", "nobody"]},
    ]
    for changes in bad_drafts:
        answer = post(officer, NEW, {**draft_form("ny-robust"), **changes}, page=NEW)
        assert answer.status_code == 400, changes
        assert 'class="field-error"' in text(answer) or 'class="error"' in text(answer), changes
    for data in ({"threshold": "abc", "usernames": "a"}, {"threshold": "2", "usernames": ","}, {"threshold": "99"}):
        answer = post(officer, f"{page}/trustees", data, page=page)
        assert answer.status_code == 400, data
    answer = post(officer, f"{page}/roll", {}, page=page, files=True)
    assert answer.status_code == 400 and "Choose the roll file to upload." in text(answer)
    for action in ("open", "close", "publish"):
        answer = post(officer, f"{page}/{action}", {}, page=page)
        assert answer.status_code == 400 and 'class="error"' in text(answer), action
    assert post(officer, "/admin/polls/finns-inte/open", {}, page=page).status_code == 404
    assert officer.get("/admin/polls/Fel_Id").status_code == 404
