"""Named polls (staff votes, D77, D78, D83) on the hub's web, as people use them: an election officer creates one
with its voting roles, opens, closes and publishes it; staff ballots arrive through the ingest; anyone reads the
board by name (choices only after the close), the result and the record, which `tinget verify` accepts. And a
secret poll in which no ballot counts is published from the page without trustees (D66)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.app import create_app
from hub.db import make_session_factory, unit_of_work, utcnow
from hub.polls import drafts, lifecycle
from hub.settings import HubSettings
from hub.staff.roles import Role
from hub.web.context import EXTENSION
from hub.web.poll_forms import local
from protocol.ballots import verify
from protocol.ballots.ballot import short_code
from tests.hub import poll_helpers as ph
from tests.hub.test_polls_named import POLL, action, add_members, cast, ingest
from tests.hub.test_polls_web import member_client, polls_set, post, text
from tests.support.eid import EMPLOYEE_ID, Issuer


@pytest.fixture
def hub(settings: HubSettings, pki: Any, eid_issuer: Issuer) -> HubSettings:
    return dataclasses.replace(
        ph.poll_settings(settings, pki, eid_issuer), eid_staff_ca_file=eid_issuer.ca_dir / "issuing.pem"
    )


def app_of(settings: HubSettings) -> Flask:
    application = create_app(settings)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def poll_app(hub: HubSettings) -> Iterator[Flask]:
    application = app_of(hub)
    yield application
    application.extensions[EXTENSION].engine.dispose()


@pytest.fixture
def officer(poll_app: Flask) -> FlaskClient:
    return member_client(poll_app, "eva", Role.ELECTION_OFFICER)


def named_form(**changes: Any) -> dict[str, Any]:
    now = utcnow()
    form = {
        "kind": "named",
        "roles": ["registrar", "staff"],
        "poll_id": POLL,
        "title_sv": "Personalfest 2027",
        "title_en": "Staff party 2027",
        "options": "park | Parken | The park\nschool | Skolan | The school",
        "method": "approval",
        "min_selections": "1",
        "max_selections": "2",
        "opens_at": local(now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": local(now + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "revote": "latest",
    }
    return form | changes


def board_rows(page: str) -> list[str]:
    """The board table's rows as text, tags stripped (cells separated by |)."""
    body = page[page.index('id="board"') :]
    rows = re.findall(r"<tr><td>(.*?)</tr>", body, flags=re.S)
    cells = ([c.strip() for c in re.sub(r"<[^>]+>", "|", row).split("|")] for row in rows)
    return [" | ".join(c for c in row if c) for row in cells]


def test_a_named_poll_from_the_form_to_a_published_record_anyone_can_verify(
    poll_app: Flask, officer: FlaskClient, hub: HubSettings, pki: Any, eid_issuer: Issuer, tmp_path: Path
) -> None:
    """D77, D78, SEC-06: the officer's pages, the board by name, choices only after the close, the verified record."""
    new = text(officer.get("/admin/polls/new"))
    assert "Named poll (staff vote, public by name)" in new and "Secret poll (residents, encrypted" in new
    answer = post(officer, "/admin/polls/new", named_form(roles=["registrar", "nobody"]), page="/admin/polls/new")
    assert answer.status_code == 400  # not a role: the form says so, no 500
    answer = post(officer, "/admin/polls/new", named_form(), page="/admin/polls/new")
    assert answer.status_code == 302, text(answer)[-1500:]
    page = f"/admin/polls/{POLL}"
    shown = text(officer.get(page))
    assert "This poll is public by name" in shown and '<span class="tag">Registrar</span>' in shown
    assert "If a staff member votes again" in shown
    for hidden in ("Voter roll", "Trustees and the key ceremony", "Age limit", "Name the trustees"):
        assert hidden not in shown
    assert "Public by name (staff vote)" in text(officer.get("/admin/polls/"))

    edit = f"{page}/edit"
    assert "The kind of a poll cannot change" in text(officer.get(edit))
    answer = post(officer, edit, named_form(kind="secret", roles=["staff"]), page=edit)  # the kind stays
    assert answer.status_code == 302, text(answer)[-1500:]
    shown = text(officer.get(page))
    assert "This poll is public by name" in shown and '<span class="tag">Registrar</span>' not in shown
    answer = post(officer, edit, named_form(roles=["registrar", "staff"]), page=edit)
    assert answer.status_code == 302

    assert post(officer, f"{page}/open", {}, page=page).status_code == 302
    assert "The poll is open" in text(officer.get(page)) and POLL in polls_set(poll_app)

    engine = ph.engine_of(hub)
    with unit_of_work(make_session_factory(engine)) as session:
        add_members(session)
    engine.dispose()
    now = utcnow()
    ange = ph.device(pki, "ange")
    karin = cast(eid_issuer, "staff", (0,), now, ange)
    assert ingest(hub, action(karin, ange), now) == "counted"
    assert ingest(hub, action(cast(eid_issuer, "olle", (0, 1), now, ange), ange), now) == "counted"
    assert ingest(hub, action(cast(eid_issuer, "petra", (1,), now, ange), ange), now) == "rejected"  # IT votes not

    board = text(officer.get(f"/val/{POLL}"))
    assert "Public by name (staff vote)" in board and "under its tracking code" not in board  # not the secret page
    rows = board_rows(board)
    assert rows[0].startswith("1 | " + short_code(karin.tracking_hash) + " | Karin Karlsson | " + EMPLOYEE_ID)
    assert "Shown after the close" in rows[0] and "The park" not in rows[0] and "Counted" in rows[0]
    assert "Olle Olsson" in rows[1] and "The school" not in rows[1]
    assert "Rejected: the staff member has none of the roles that vote in this poll" in rows[2]
    assert '"chosen"' not in board and "Ballots counted" not in board  # SEC-06: no choice, no count while open
    swedish = text(poll_app.test_client().get(f"/val/{POLL}"))
    assert "Offentlig med namn (personalomröstning)" in swedish and "Visas efter stängningen" in swedish
    found = text(officer.get(f"/val/{POLL}?kod={short_code(karin.tracking_hash).lower()}"))
    assert f"The code {short_code(karin.tracking_hash)} is on the board: Counted." in found
    assert "is not on the board" in text(officer.get(f"/val/{POLL}?kod=AAAA-BBBB-CCCC-DDDD"))
    assert officer.get(f"/api/v1/poll-results/{POLL}").status_code == 404
    assert "Polls marked public by name are staff votes" in text(officer.get("/val/"))

    answer = post(officer, f"{page}/close", {}, page=page)
    assert answer.status_code == 302
    assert "The choices are now on the public board" in text(officer.get(page))
    rows = board_rows(text(officer.get(f"/val/{POLL}")))
    assert "| The park |" in rows[0] and "| The park, The school |" in rows[1]
    assert "Count and publish the result" in text(officer.get(page))

    without_cas = app_of(dataclasses.replace(hub, eid_staff_ca_file=None))
    try:
        other = member_client(without_cas, "ella", Role.ELECTION_OFFICER)
        assert "set eid_staff_ca_file in the hub’s settings first" in text(other.get(page))
        answer = post(other, f"{page}/publish", {}, page=page)
        assert answer.status_code == 400 and "set eid_staff_ca_file in the hub&#39;s settings" in text(answer)
    finally:
        without_cas.extensions[EXTENSION].engine.dispose()

    assert post(officer, f"{page}/publish", {}, page=page).status_code == 302
    assert "<td>Parken</td><td>2</td>" in text(officer.get(page))
    result = text(officer.get(f"/val/{POLL}"))
    assert "Ballots counted: 2 (one per staff member)." in result and "eligible voters" not in result
    assert "<svg" in result and "The park: 2 (100.0 %)" in result and "tinget verify record-" in result
    record = officer.get(f"/val/{POLL}/record.jsonl")
    assert record.status_code == 200
    (tmp_path / "record.jsonl").write_bytes(record.data)
    verified = verify.verify_file(tmp_path / "record.jsonl")  # as `tinget verify` reads it
    assert (verified.counts, verified.counted, verified.entries) == ((2, 1), 2, 3)
    data = officer.get("/api/v1/poll-results").json["poll_results"]
    assert [(r["poll_id"], r["named"], r["roles"], r["voters"], r["turnout"]) for r in data] == [
        (POLL, True, ["registrar", "staff"], None, None)
    ]
    assert [o["votes"] for o in data[0]["options"]] == [2, 1]
    results_conform_to_the_openapi_description(poll_app, POLL)


def results_conform_to_the_openapi_description(app: Flask, poll_id: str) -> None:
    """The published results' JSON is what /api/v1/openapi.json says (schemathesis validates the answers)."""
    import schemathesis

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/v1/poll-results":
            operation.Case().call_and_validate()
            checked += 1
        elif operation.path == "/api/v1/poll-results/{poll_id}":
            operation.Case(path_parameters={"poll_id": poll_id}).call_and_validate()
            checked += 1
    assert checked == 2


def test_a_secret_poll_in_which_no_ballot_counts_is_published_from_the_page_without_trustees(
    officer: FlaskClient, hub: HubSettings, tmp_path: Path
) -> None:
    """D66: nothing to decrypt, so the page offers Publish at once and says why no trustee is needed."""
    poll_id = "tom-2027"
    ph.open_poll(hub, poll_id, utcnow())
    page = f"/admin/polls/{poll_id}"
    assert post(officer, f"{page}/close", {}, page=page).status_code == 302
    shown = text(officer.get(page))
    assert "no ballot counts on its board, so there is nothing to decrypt and no trustee is needed" in shown
    assert "Waiting for 2 trustees" not in shown and "Publish the result" in shown
    assert post(officer, f"{page}/publish", {}, page=page).status_code == 302
    result = text(officer.get(f"/val/{poll_id}"))
    assert "Ballots counted: 0 of 4 eligible voters" in result and "under its tracking code" in result
    (tmp_path / "record.jsonl").write_bytes(officer.get(f"/val/{poll_id}/record.jsonl").data)
    verified = verify.verify_file(tmp_path / "record.jsonl")
    assert (verified.counts, verified.counted) == ((0, 0), 0)
    data = officer.get(f"/api/v1/poll-results/{poll_id}").json
    assert (data["named"], data["roles"], data["voters"], data["turnout"]) == (False, [], 4, 0.0)


def test_an_unreadable_staff_ca_file_is_a_message_and_stops_no_secret_poll(hub: HubSettings, tmp_path: Path) -> None:
    """SEC-19: publishing a named poll with a broken eid_staff_ca_file says what to fix; a secret poll needs none."""
    now = utcnow()
    engine = ph.engine_of(hub)
    with unit_of_work(make_session_factory(engine)) as session:
        drafts.create_poll(session, POLL, ph.spec(now, secret=False), actor="test")
        lifecycle.open_poll(session, POLL, actor="test", now=now)
        lifecycle.close_poll(session, POLL, actor="test", now=now)
    engine.dispose()
    ph.open_poll(hub, "tom-2027", now)
    broken = tmp_path / "staff-ca.pem"
    broken.write_text("not a certificate")
    application = app_of(dataclasses.replace(hub, eid_staff_ca_file=broken))
    try:
        officer = member_client(application, "eva", Role.ELECTION_OFFICER)
        page = f"/admin/polls/{POLL}"
        answer = post(officer, f"{page}/publish", {}, page=page)
        assert answer.status_code == 400 and "The hub cannot read eid_staff_ca_file" in text(answer)
        secret = "/admin/polls/tom-2027"
        assert post(officer, f"{secret}/close", {}, page=secret).status_code == 302
        assert post(officer, f"{secret}/publish", {}, page=secret).status_code == 302
    finally:
        application.extensions[EXTENSION].engine.dispose()
