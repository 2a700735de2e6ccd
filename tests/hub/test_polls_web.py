"""The polls on the hub's web, used as people use them: an election officer, three trustees with the real key
generation on "their own machines", a resident checking a receipt's code, and anyone checking the record."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from hub.app import create_app
from hub.db import make_session_factory, unit_of_work, utcnow
from hub.polls import counting
from hub.settings import HubSettings
from hub.staff.roles import Role
from hub.web.context import EXTENSION
from hub.web.poll_forms import local
from protocol import codec
from protocol.ballots import keygen, tally, verify
from protocol.ballots.ballot import short_code
from protocol.ballots.group import Scalar
from tests.hub import poll_helpers as ph
from tests.hub.helpers import add_member, csrf_token, sign_in
from tests.support.eid import ANNA_PERSONNUMMER, RUT_PERSONNUMMER, Issuer
from tests.support.pii import find_personnummer

POLL = "lekplats-2027"
BAD_ROW = "19121212-1213"  # a wrong check digit: line 4 of the roll file


@pytest.fixture
def hub(settings: HubSettings, pki: Any, eid_issuer: Issuer) -> HubSettings:
    return ph.poll_settings(settings, pki, eid_issuer)


@pytest.fixture
def poll_app(hub: HubSettings) -> Iterator[Flask]:
    """The hub's web app on settings that can also take ballots (device CA, e-ID issuer)."""
    application = create_app(hub)
    application.config["TESTING"] = True
    yield application
    application.extensions[EXTENSION].engine.dispose()


def member_client(app: Flask, username: str, *roles: Role) -> FlaskClient:
    """A browser of its own, signed in (password and one-time code) as a new account, reading English."""
    client = app.test_client()
    sign_in(client, username, add_member(app, username, *roles))
    client.get("/?lang=en")
    return client


@pytest.fixture
def officer(poll_app: Flask) -> FlaskClient:
    return member_client(poll_app, "eva", Role.ELECTION_OFFICER)


@pytest.fixture
def trustees(poll_app: Flask) -> dict[int, FlaskClient]:
    return {i: member_client(poll_app, name, Role.STAFF) for i, name in enumerate(ph.TRUSTEES, start=1)}


def post(client: FlaskClient, path: str, data: dict[str, Any], *, page: str, files: bool = False) -> Any:
    """Post a form from ``page`` as a browser would (its CSRF token included)."""
    token = csrf_token(client.get(page).data)
    if not files:
        return client.post(path, data={**data, "csrf_token": token})
    # Encoded here, in memory: the test client spools a large body to a temporary file it never closes.
    fields = {k: FileStorage(v[0], filename=v[1]) if isinstance(v, tuple) else v for k, v in data.items()}
    boundary, body = encode_multipart({**fields, "csrf_token": token})
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def text(answer: Any) -> str:
    return str(answer.data.decode())


def upload(client: FlaskClient, path: str, page: str, data: object, name: str) -> Any:
    return post(client, path, {"file": (io.BytesIO(codec.encode(data)), name)}, page=page, files=True)


def create_draft(officer: FlaskClient, poll_id: str = POLL) -> None:
    now = utcnow()
    form = {
        "poll_id": poll_id,
        "title_sv": "Ny lekplats",
        "title_en": "A new playground",
        "description_sv": "Var ska **lekplatsen** ligga? <script>alert(1)</script>",
        "description_en": "Where should the **playground** be?",
        "options": "park | Parken | The park\nschool | Skolan | The school",
        "method": "single",
        "min_selections": "1",
        "max_selections": "1",
        "opens_at": local(now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": local(now + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "revote": "latest",
        "min_age": "16",
    }
    answer = post(officer, "/admin/polls/new", form, page="/admin/polls/new")
    assert answer.status_code == 302, text(answer)[-1500:]
    assert answer.headers["Location"].endswith(f"/admin/polls/{poll_id}")


def run_ceremony(trustees: dict[int, FlaskClient], poll_id: str = POLL) -> dict[int, Scalar]:
    """Each trustee downloads, runs the real key generation "on their own machine" and uploads, round by round."""
    page = f"/admin/trustee/{poll_id}"
    upload_to = f"{page}/round"
    cer = keygen.Ceremony.from_json(json.loads(trustees[1].get(f"{page}/ceremony.json").data))
    started = {i: keygen.start(cer, i) for i in cer.indices}
    for i, (_secrets, announcement) in started.items():
        assert "keygen announce ceremony.json --me" in text(trustees[i].get(page))
        file = keygen.round_file("announce", poll_id, announcement.to_json())
        assert upload(trustees[i], upload_to, page, file, f"announce-{i}.json").status_code == 302

    def files(client: FlaskClient, kind: str) -> list[Any]:
        return [json.loads(client.get(f"{page}/files/{kind}-{j}.json").data) for j in cer.indices]

    for i, (secrets, _a) in started.items():
        assert "keygen deliver ceremony.json announce-1.json" in text(trustees[i].get(page))
        announced = [keygen.Announcement.from_json(f["body"], cer) for f in files(trustees[i], "announce")]
        body = {"from": i, "shares": {str(j): box for j, box in keygen.deliver(cer, secrets, announced).items()}}
        assert (
            upload(trustees[i], upload_to, page, keygen.round_file("deliver", poll_id, body), "d.json").status_code
            == 302
        )
    shares = {}
    for i, (secrets, _a) in started.items():
        assert "keygen finish" in text(trustees[i].get(page))
        announced = [keygen.Announcement.from_json(f["body"], cer) for f in files(trustees[i], "announce")]
        deliveries = [d["body"] for d in files(trustees[i], "deliver")]
        delivered = {d["from"]: d["shares"][str(i)] for d in deliveries if d["from"] != i}
        shares[i], confirmation = keygen.finish(cer, secrets, announced, delivered)
        file = keygen.round_file("confirm", poll_id, confirmation.to_json())
        assert upload(trustees[i], upload_to, page, file, f"confirm-{i}.json").status_code == 302
    return shares


def cast(hub: HubSettings, pki: Any, issuer: Issuer, poll_id: str, now: dt.datetime) -> tuple[str, str]:
    """Anna votes for the park at a kiosk; the ingest takes the ballot. The receipt's code, and the path its QR
    code opens (built by the kiosk's own `lookup_url`)."""
    from kiosk.voting.casting import lookup_url

    engine = ph.engine_of(hub)
    with unit_of_work(make_session_factory(engine)) as session:
        notice = ph.notice(hub, session, poll_id)
    engine.dispose()
    ange = ph.device(pki, "ange")
    env = ph.envelope(hub, notice, issuer, ange, card="anna", chosen=frozenset({0}), at=now)
    assert ph.ingest(hub, ph.action(env, ange), now) == "counted"
    code = short_code(env.tracking_hash)
    return code, lookup_url(notice.board_url, code).removeprefix(hub.public_url.rstrip("/"))


def audited_by(app: Flask, poll_id: str) -> set[tuple[str, str]]:
    """(action, actor) of the audit log's entries about the poll (SEC-16: the web's actor is the member)."""
    from sqlalchemy import select

    from hub.audit.models import AuditEntryRow

    with unit_of_work(app.extensions[EXTENSION].sessions, write=False) as session:
        query = select(AuditEntryRow.action, AuditEntryRow.actor).where(AuditEntryRow.subject == poll_id)
        rows = session.execute(query)
        return {(action, actor) for action, actor in rows}


def polls_set(app: Flask) -> str:
    """The newest stored ``polls`` set, as text."""
    from hub.sets.publication import find_latest

    with unit_of_work(app.extensions[EXTENSION].sessions, write=False) as session:
        row = find_latest(session, "polls")
        return "" if row is None else bytes(row.body).decode()


def decrypt(client: FlaskClient, index: int, share: Scalar, poll_id: str = POLL) -> Any:
    """A trustee downloads the closed board, checks it and decrypts its sum with `tinget trustee`'s functions."""
    page = f"/admin/trustee/{poll_id}"
    assert "tinget trustee decrypt" in text(client.get(page))
    closed = verify.verify_board(client.get(f"{page}/board.jsonl").data.splitlines(keepends=True))
    partial = tally.decrypt_share(closed.rules, closed.key, index, share, closed.aggregate)
    body = {"head": closed.head, "aggregate": tally.aggregate_to_json(closed.aggregate), "partial": partial.to_json()}
    return upload(client, f"{page}/partial", page, keygen.round_file("decrypt", poll_id, body), "partial.json")


def test_a_poll_from_draft_to_a_published_result_anyone_can_verify(
    poll_app: Flask,
    officer: FlaskClient,
    trustees: dict[int, FlaskClient],
    hub: HubSettings,
    pki: Any,
    eid_issuer: Issuer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SEC-05, SEC-06, SEC-09, SEC-14: the whole poll through the pages; the record passes `tinget verify`."""
    monkeypatch.setattr(counting, "RECORD_CHUNK", 1000)  # the download streams the record in many pieces
    assert "not legally binding referendums" in text(officer.get("/admin/polls/"))
    create_draft(officer)
    page = f"/admin/polls/{POLL}"
    assert "Ny lekplats" in text(officer.get("/admin/polls/"))

    rows = ["personnummer", ANNA_PERSONNUMMER, RUT_PERSONNUMMER, BAD_ROW, ph.OTHERS[0], *[" " * 99] * 20_000]
    roll_file = "\n".join(rows).encode()  # over the 1 MB form limit: a roll has its own
    answer = post(officer, f"{page}/roll", {"file": (io.BytesIO(roll_file), "roll.csv")}, page=page, files=True)
    report = text(answer)
    assert answer.status_code == 200
    assert "added 3, already on the roll 0, rejected lines 1" in report
    assert re.search(r"<td>4</td><td>the check digit does not match</td>", report)
    assert find_personnummer(report) == [] and BAD_ROW.replace("-", "") not in report.replace("-", "")

    answer = post(officer, f"{page}/open", {}, page=page)
    assert answer.status_code == 400 and "Trustees are named" in text(answer)
    assert "The trustees&#39; key ceremony has not completed" in text(answer)

    answer = post(officer, f"{page}/trustees", {"threshold": "4", "usernames": "anna, bo, cy"}, page=page)
    assert answer.status_code == 400 and "k must be at least 1 and at most the number of trustees" in text(answer)
    answer = post(officer, f"{page}/trustees", {"threshold": "2", "usernames": "anna, bo, nobody"}, page=page)
    assert answer.status_code == 400 and "one of the usernames has no account" in text(answer)
    answer = post(officer, f"{page}/trustees", {"threshold": "2", "usernames": "anna, bo, cy"}, page=page)
    assert answer.status_code == 302
    assert "2 of 3 trustees must take part in counting" in text(officer.get(page))
    assert f"/admin/trustee/{POLL}" in text(trustees[2].get("/admin/trustee/"))

    shares = run_ceremony(trustees)
    assert "The election key is ready." in text(officer.get(page))
    answer = post(officer, f"{page}/open", {}, page=page)
    assert answer.status_code == 302, text(answer)[-800:]
    assert "The poll is open" in text(officer.get(page))
    assert POLL in polls_set(poll_app)  # stored for the ingest to announce (D80)

    code, receipt_path = cast(hub, pki, eid_issuer, POLL, utcnow())
    board = text(officer.get(f"/val/{POLL}"))
    assert code in board and "Counted" in board and "The result is published once" not in board
    assert "<script>alert" not in board and "<strong>playground</strong>" in board
    assert receipt_path == f"/val/{POLL}?kod={code}"
    found = text(officer.get(receipt_path))
    assert f"The code {code} is on the board: Counted." in found
    swedish = text(poll_app.test_client().get(f"/val/{POLL}?kod={code.lower()}"))  # a resident, Swedish first
    assert "Den här omröstningen är medborgardialog" in swedish and f"Koden {code} finns på anslagstavlan" in swedish
    missing = text(officer.get(f"/val/{POLL}?kod=AAAA-BBBB-CCCC-DDDD"))
    assert "The code AAAA-BBBB-CCCC-DDDD is not on the board" in missing
    assert officer.get(f"/api/v1/poll-results/{POLL}").status_code == 404  # SEC-06: nothing before publication
    assert trustees[1].get(f"/admin/trustee/{POLL}/board.jsonl").status_code == 404

    assert post(officer, f"{page}/close", {}, page=page).status_code == 302
    assert decrypt(trustees[1], 1, shares[1]).status_code == 302
    assert "Waiting for 2 trustees" in text(officer.get(page))
    answer = decrypt(trustees[3], 3, shares[3])
    assert answer.status_code == 302
    assert "the votes are counted" in text(trustees[3].get(f"/admin/trustee/{POLL}"))
    assert "<td>Parken</td><td>1</td>" in text(officer.get(page))  # the officer checks before publishing
    counted = text(officer.get(f"/val/{POLL}"))
    assert "Closed for voting" in counted and "Ballots counted" not in counted and "<svg" not in counted
    assert officer.get(f"/api/v1/poll-results/{POLL}").status_code == 404  # SEC-06: published results only
    assert post(officer, f"{page}/publish", {}, page=page).status_code == 302

    result = text(officer.get(f"/val/{POLL}?lang=en"))
    assert "Ballots counted: 1 of 3 eligible voters; turnout 33.3 %" in result
    assert "<svg" in result and "The park: 1 (100.0 %)" in result and "tinget verify" in result
    record = officer.get(f"/val/{POLL}/record.jsonl")
    assert record.status_code == 200
    assert int(record.headers["Content-Length"]) == len(record.data) > 3 * counting.RECORD_CHUNK
    assert record.headers["ETag"] == f'"{hashlib.sha256(record.data).hexdigest()}"'
    verified = verify.verify_lines(record.data.splitlines(keepends=True))
    assert (verified.counts, verified.counted) == ((1, 0), 1)
    data = officer.get("/api/v1/poll-results").json["poll_results"]
    assert [(r["poll_id"], [o["votes"] for o in r["options"]], r["voters"]) for r in data] == [(POLL, [1, 0], 3)]
    assert data[0]["record_url"].endswith(f"/val/{POLL}/record.jsonl")
    assert POLL in text(officer.get("/val/"))
    pages = [officer.get(p) for p in (page, "/val/", f"/val/{POLL}", "/api/v1/poll-results")]
    pages += [trustees[i].get(f"/admin/trustee/{POLL}") for i in trustees]
    assert all(find_personnummer(text(answer)) == [] for answer in pages)  # SEC-14
    assert audited_by(poll_app, POLL) >= {("poll.created", "eva"), ("poll.opened", "eva"), ("poll.published", "eva")}
    results_conform_to_the_openapi_description(poll_app)


def results_conform_to_the_openapi_description(app: Flask) -> None:
    """The published result's JSON is what /api/v1/openapi.json says (schemathesis validates the answers)."""
    import schemathesis

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/v1/poll-results":
            operation.Case().call_and_validate()
            checked += 1
        elif operation.path == "/api/v1/poll-results/{poll_id}":
            operation.Case(path_parameters={"poll_id": POLL}).call_and_validate()
            checked += 1
    assert checked == 2


def test_a_poll_form_without_its_csrf_token_is_refused(officer: FlaskClient) -> None:
    """SEC-18: every poll form is protected."""
    answer = officer.post("/admin/polls/new", data={"poll_id": "x-poll", "title_sv": "X"})
    assert answer.status_code == 400
    create_draft(officer)
    assert officer.post(f"/admin/polls/{POLL}/open").status_code == 400


def test_only_a_signed_in_election_officer_reaches_the_officers_pages(poll_app: Flask) -> None:
    """SEC-18: sign-in with a second factor, and the role; a resident reaches no staff page."""
    resident = poll_app.test_client()
    for path in ("/admin/polls/", f"/admin/polls/{POLL}", "/admin/trustee/", f"/admin/trustee/{POLL}"):
        answer = resident.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/admin/signin")
    assert resident.post(f"/admin/polls/{POLL}/open").status_code in (302, 400)
    registrar = member_client(poll_app, "rut", Role.REGISTRAR)
    assert registrar.get("/admin/polls/").status_code == 403


def test_a_trustee_reaches_only_their_own_polls_and_uploads_only_their_own_files(
    officer: FlaskClient, trustees: dict[int, FlaskClient]
) -> None:
    """SEC-05: a trustee cannot upload to another poll, nor a file as another trustee."""
    create_draft(officer)
    create_draft(officer, "bibliotek")
    for poll_id, names in ((POLL, "anna, bo, cy"), ("bibliotek", "bo, cy")):
        page = f"/admin/polls/{poll_id}"
        assert post(officer, f"{page}/trustees", {"threshold": "2", "usernames": names}, page=page).status_code == 302
    anna = trustees[1]
    assert anna.get("/admin/trustee/bibliotek").status_code == 403
    assert anna.get("/admin/trustee/bibliotek/ceremony.json").status_code == 403
    token = csrf_token(anna.get(f"/admin/trustee/{POLL}").data)
    assert anna.post("/admin/trustee/bibliotek/round", data={"csrf_token": token}).status_code == 403
    cer = keygen.Ceremony.from_json(json.loads(anna.get(f"/admin/trustee/{POLL}/ceremony.json").data))
    _secrets, bos = keygen.start(cer, 2)
    page = f"/admin/trustee/{POLL}"
    answer = upload(anna, f"{page}/round", page, keygen.round_file("announce", POLL, bos.to_json()), "a.json")
    assert answer.status_code == 400 and "The file belongs to another trustee" in text(answer)
    answer = post(anna, f"{page}/round", {"file": (io.BytesIO(b" " * 1_100_000), "a.json")}, page=page, files=True)
    assert answer.status_code == 413
    answer = post(anna, f"{page}/round", {"file": (io.BytesIO(b"not json"), "a.json")}, page=page, files=True)
    assert answer.status_code == 400 and "not a JSON file" in text(answer)
    _secrets, annas = keygen.start(cer, 1)
    answer = upload(anna, f"{page}/round", page, keygen.round_file("announce", POLL, annas.to_json()), "a.json")
    assert answer.status_code == 302 and "Your announce file (trustee 1) is in." in text(anna.get(page))
    assert "Your file of this round is in" in text(anna.get(page))
    officer_page = f"/admin/polls/{POLL}"
    assert post(officer, f"{officer_page}/reset", {}, page=officer_page).status_code == 302
    assert "keygen announce ceremony.json --me 1" in text(anna.get(page))  # round 1 again


def test_a_draft_is_not_public_and_bad_input_is_a_message_not_an_error_page(officer: FlaskClient) -> None:
    create_draft(officer)
    assert officer.get(f"/val/{POLL}").status_code == 404
    assert officer.get("/val/Not_A_Poll").status_code == 404
    assert officer.get(f"/val/{POLL}/record.jsonl").status_code == 404
    assert officer.get("/api/v1/poll-results/nope").json["error"]["status"] == 404
    page = "/admin/polls/new"
    form = {"poll_id": POLL, "title_sv": "Igen", "options": "a | A\nb | B", "method": "single", "revote": "latest"}
    form |= {"opens_at": "2027-03-01T08:00", "closes_at": "2027-03-02T08:00"}
    answer = post(officer, page, form, page=page)
    assert answer.status_code == 400 and "There is already a poll with that id" in text(answer)
    answer = post(officer, page, {**form, "poll_id": "ny", "closes_at": "2027-02-01T08:00"}, page=page)
    assert answer.status_code == 400 and "The poll must open before it closes" in text(answer)
    answer = post(officer, page, {**form, "poll_id": "ny", "options": "bara en rad"}, page=page)
    assert answer.status_code == 400 and "Line 1: write name | Swedish label | English label." in text(answer)
    roll_page = f"/admin/polls/{POLL}"
    answer = post(
        officer, f"{roll_page}/roll", {"file": (io.BytesIO(b"\xff\xfe"), "r.csv")}, page=roll_page, files=True
    )
    assert answer.status_code == 400 and "not UTF-8 text" in text(answer)
    long_line = b"personnummer\n" + b"1" * 200_000
    answer = post(officer, f"{roll_page}/roll", {"file": (io.BytesIO(long_line), "r.csv")}, page=roll_page, files=True)
    assert answer.status_code == 400 and "a line is far too long" in text(answer)


def test_nonsense_files_from_a_trustee_are_refused_with_a_message_never_a_500(
    officer: FlaskClient, trustees: dict[int, FlaskClient]
) -> None:
    """SEC-19: a malformed file upload is answered clearly; the ceremony goes on."""
    create_draft(officer)
    page = f"/admin/polls/{POLL}"
    assert (
        post(officer, f"{page}/trustees", {"threshold": "2", "usernames": "anna, bo, cy"}, page=page).status_code == 302
    )
    anna, mine = trustees[1], f"/admin/trustee/{POLL}"
    files: list[object] = [
        None,
        [],
        17,
        "announce",
        {"round": "announce"},
        {"round": "announce", "poll": POLL, "body": {}},
        {"round": "announce", "poll": "another-poll", "body": {}},
        {"round": "deliver", "poll": POLL, "body": {"from": [1], "shares": {}}},
        {"round": "deliver", "poll": POLL, "body": {"from": 1, "shares": {"2": 5, "3": None}}},
        {"round": "confirm", "poll": POLL, "body": "x"},
        {"round": "decrypt", "poll": POLL, "body": {}},
        {"format": 99, "round": "announce", "poll": POLL, "body": {"index": 1}},
    ]
    for data in files:
        answer = upload(anna, f"{mine}/round", mine, data, "x.json")
        assert answer.status_code == 400 and 'class="error"' in text(answer), data
    answer = upload(anna, f"{mine}/partial", mine, {"round": "decrypt", "poll": POLL, "body": {}}, "p.json")
    assert answer.status_code == 400 and "That cannot be done now: the poll is Draft." in text(answer)
    assert "keygen announce ceremony.json --me 1" in text(anna.get(mine))
