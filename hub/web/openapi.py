"""The OpenAPI 3.1 description of the open-data API (`hub.web.opendata`), written out by hand.

It is the contract for people building on the data: the tests run schemathesis against it, so an answer that
does not match (a missing field, a wrong type, an undocumented status) fails the suite.
"""

from __future__ import annotations

from typing import Any

NULLABLE_TEXT = {"type": ["string", "null"]}
DATE = {"type": "string", "format": "date"}
POLL_ID_PATTERN = "^[a-z0-9][a-z0-9-]{1,62}$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": _json(_ref("Error"), "A parameter could not be read; the message names it."),
    "404": _json(_ref("Error"), "There is no such published item."),
}
PAGE = {
    "name": "page",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": 1, "maximum": 25, "default": 1},
    "description": "Page of 20 results.",
}


def _schemas() -> dict[str, Any]:
    file = {
        "type": ["object", "null"],
        "required": ["sha256", "media_type", "size", "pages", "url"],
        "properties": {
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "media_type": {"type": "string"},
            "size": {"type": "integer", "minimum": 1},
            "pages": {"type": ["integer", "null"]},
            "url": {"type": "string"},
        },
        "description": "The file, when it may be published (not for secret documents or ones with personal data).",
    }
    document = {
        "type": "object",
        "required": [
            "id",
            "number",
            "case_number",
            "case_title",
            "board",
            "kind",
            "title",
            "date",
            "counterpart",
            "secrecy",
            "osl",
            "personal_data",
            "file",
            "url",
        ],
        "properties": {
            "id": {"type": "integer"},
            "number": {"type": "string", "examples": ["KS 2026/123-4"]},
            "case_number": {"type": "string", "examples": ["KS 2026/123"]},
            "case_title": {"type": "string"},
            "board": {"type": "string"},
            "kind": {
                "type": "string",
                "enum": ["incoming", "outgoing", "decision", "minutes", "agenda", "notice", "memo"],
            },
            "title": {"type": "string", "description": "Empty for a secret document."},
            "date": DATE,
            "counterpart": NULLABLE_TEXT,
            "secrecy": {"type": "string", "enum": ["public", "partial", "secret"]},
            "osl": {**NULLABLE_TEXT, "description": "The paragraph of Offentlighets- och sekretesslagen."},
            "personal_data": {"type": "boolean"},
            "file": file,
            "url": {"type": "string", "description": "The document's page on the web."},
            "text": {"type": "string", "description": "The extracted text (only on /documents/{id})."},
        },
    }
    case = {
        "type": "object",
        "required": ["id", "number", "title", "board", "status", "opened_on", "closed_on"],
        "properties": {
            "id": {"type": "integer"},
            "number": {"type": "string"},
            "title": {"type": "string"},
            "board": {"type": "string"},
            "status": {"type": "string", "enum": ["open", "closed"]},
            "opened_on": DATE,
            "closed_on": {"type": ["string", "null"], "format": "date"},
            "documents": {"type": "array", "items": _ref("Document")},
        },
    }
    notice = {
        "type": "object",
        "required": ["id", "title", "body", "board", "document_id", "posted_on", "takedown_on"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "body": {"type": "string"},
            "board": NULLABLE_TEXT,
            "document_id": {"type": ["integer", "null"]},
            "posted_on": DATE,
            "takedown_on": DATE,
        },
    }
    error = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["status", "title", "message"],
                "properties": {
                    "status": {"type": "integer"},
                    "title": {"type": "string"},
                    "message": {"type": "string"},
                },
            }
        },
    }
    return {
        "Document": document,
        "Case": case,
        "Notice": notice,
        "PollResult": _poll_result(),
        "Error": error,
    }


def _poll_result() -> dict[str, Any]:
    labels = {
        "type": "object",
        "required": ["sv", "en"],
        "properties": {"sv": {"type": "string"}, "en": NULLABLE_TEXT},
    }
    option = {
        "type": "object",
        "required": ["name", "label", "votes"],
        "properties": {
            "name": {"type": "string", "description": "The option's name in the ballot and the record."},
            "label": labels,
            "votes": {"type": "integer", "minimum": 0},
        },
    }
    moment = {"type": ["string", "null"], "format": "date-time"}
    return {
        "type": "object",
        "required": [
            "poll_id",
            "named",
            "roles",
            "title",
            "method",
            "options",
            "counted",
            "voters",
            "turnout",
            "opened_at",
            "closed_at",
            "published_at",
            "board_head",
            "record_sha256",
            "url",
            "record_url",
        ],
        "properties": {
            "poll_id": {"type": "string", "pattern": POLL_ID_PATTERN},
            "named": {
                "type": "boolean",
                "description": "true for a named poll (a staff vote, public by name, no roll); false for a secret "
                "poll of residents.",
            },
            "roles": {
                "type": "array",
                "items": {"type": "string"},
                "description": "A named poll's voting staff roles (empty: every member on the staff list).",
            },
            "title": labels,
            "method": {"type": "string", "enum": ["single", "yes-no-abstain", "approval"]},
            "options": {"type": "array", "items": option},
            "counted": {"type": "integer", "minimum": 0, "description": "Ballots counted (one per voter)."},
            "voters": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "Eligible voters on the roll; null for a named poll, which has no roll.",
            },
            "turnout": {
                "type": ["number", "null"],
                "minimum": 0,
                "description": "counted / voters; null for a named poll.",
            },
            "opened_at": moment,
            "closed_at": moment,
            "published_at": {"type": "string", "format": "date-time"},
            "board_head": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "record_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "url": {"type": "string", "description": "The poll's public page with its bulletin board."},
            "record_url": {
                "type": "string",
                "description": "The election record (JSON Lines); `tinget verify FILE` recomputes the result.",
            },
        },
        "description": "A published poll's result. Polls are consultations (medborgardialog), not binding referendums; "
        "a named poll's record (`tinget/named-record/v1`) lists every ballot with the voter's name.",
    }


def _list(key: str, item: str, *, paged: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {key: {"type": "array", "items": _ref(item)}}
    required = [key]
    if paged:
        properties |= {"page": {"type": "integer"}, "per_page": {"type": "integer"}}
        required += ["page", "per_page"]
    return {"type": "object", "required": required, "properties": properties}


def openapi_document(public_url: str) -> dict[str, Any]:
    """The description, with ``public_url`` as the server."""
    search_parameters = [
        {
            "name": "q",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "maxLength": 200},
            "description": 'Words to search for, Swedish stemming: "a phrase", prefix*, a case number like KS 2026/12.',
        },
        {"name": "board", "in": "query", "required": False, "schema": {"type": "string", "pattern": "^[A-Za-z]{1,6}$"}},
        {
            "name": "kind",
            "in": "query",
            "required": False,
            "schema": {
                "type": "string",
                "enum": ["incoming", "outgoing", "decision", "minutes", "agenda", "notice", "memo"],
            },
        },
        {"name": "from", "in": "query", "required": False, "schema": DATE},
        {"name": "to", "in": "query", "required": False, "schema": DATE},
        PAGE,
    ]
    documents = _list("documents", "Document", paged=True)
    documents["properties"] |= {"total": {"type": "integer"}, "more": {"type": "boolean"}}
    documents["required"] += ["total", "more"]
    identifier = {"in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}  # a larger one: 404
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tinget open data",
            "version": "1",
            "description": "Public records of the municipality (cases, documents, the notice board) and poll "
            "results. Read-only, no account needed. Secret documents show only their number, type and date.",
            "license": {"name": "CC0-1.0", "identifier": "CC0-1.0"},
        },
        "servers": [{"url": public_url.rstrip("/")}],
        "paths": {
            "/api/v1/documents": {
                "get": {
                    "operationId": "listDocuments",
                    "summary": "Search or list published documents",
                    "parameters": search_parameters,
                    "responses": {"200": _json(documents, "A page of documents."), "400": ERRORS["400"]},
                }
            },
            "/api/v1/documents/{id}": {
                "get": {
                    "operationId": "getDocument",
                    "summary": "One published document",
                    "parameters": [{"name": "id", **identifier}],
                    "responses": {"200": _json(_ref("Document"), "The document."), **ERRORS},
                }
            },
            "/api/v1/cases": {
                "get": {
                    "operationId": "listCases",
                    "summary": "Cases with published documents",
                    "parameters": [PAGE],
                    "responses": {"200": _json(_list("cases", "Case", paged=True), "A page."), "400": ERRORS["400"]},
                }
            },
            "/api/v1/cases/{id}": {
                "get": {
                    "operationId": "getCase",
                    "summary": "One case and its published documents",
                    "parameters": [{"name": "id", **identifier}],
                    "responses": {"200": _json(_ref("Case"), "The case."), **ERRORS},
                }
            },
            "/api/v1/notices": {
                "get": {
                    "operationId": "listNotices",
                    "summary": "The notice board today",
                    "responses": {"200": _json(_list("notices", "Notice", paged=False), "Notices.")},
                }
            },
            "/api/v1/poll-results": {
                "get": {
                    "operationId": "listPollResults",
                    "summary": "Results of published polls, the latest closed first",
                    "responses": {
                        "200": _json(_list("poll_results", "PollResult", paged=False), "Published results."),
                    },
                }
            },
            "/api/v1/poll-results/{poll_id}": {
                "get": {
                    "operationId": "getPollResult",
                    "summary": "One published poll's result",
                    "parameters": [
                        {
                            "name": "poll_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": POLL_ID_PATTERN},
                        }
                    ],
                    "responses": {
                        "200": _json(_ref("PollResult"), "The result."),
                        "404": _json(_ref("Error"), "No such published poll (also before publication)."),
                    },
                }
            },
        },
        "components": {"schemas": _schemas()},
    }
