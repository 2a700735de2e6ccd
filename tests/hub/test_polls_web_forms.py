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
