"""The open-data API answers exactly as its OpenAPI description says, for any input schemathesis makes up."""

from __future__ import annotations

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings

from hub.db import unit_of_work
from tests.hub.helpers import hub_of
from tests.hub.registry_helpers import register_with_pdf, store_in


@pytest.fixture
def open_data_app(app: Flask, tmp_path) -> Flask:  # type: ignore[no-untyped-def]
    """The hub with a public, a secret and a personal-data document published, and a notice."""
    import datetime as dt

    from hub.registry import notices

    with unit_of_work(hub_of(app).sessions) as session:
        store = store_in(tmp_path)
        doc_id, _ = register_with_pdf(session, store, ["Beslut om vägbelysning i Änge."])
        register_with_pdf(session, store, ["Hemligt"], secrecy="secret", osl="26 kap. 1 §", title="Hemlig titel")
        register_with_pdf(session, store, ["Namn och adress"], personal_data=True, kind="incoming")
        notices.post_notice(
            session,
            title="Protokoll justerat",
            body="KS protokoll är justerat.",
            posted_on=dt.date.today(),
            takedown_on=dt.date.today() + dt.timedelta(days=21),
            actor="test",
            public_url="https://tinget.example.se",
            document_id=doc_id,
        )
    return app


@pytest.mark.slow
def test_every_api_operation_matches_its_openapi_description(open_data_app: Flask) -> None:
    """Status codes, content types and bodies conform for generated requests (no 5xx, nothing undocumented)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", open_data_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 7

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def conforms(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate()

        conforms()
