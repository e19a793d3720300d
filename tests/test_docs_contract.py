"""docs/contract.md and the served /api/v1/openapi.json name the same operations.

The document lists each operation as a heading `` `METHOD /api/v1/path` `` (OpenAPI path
syntax, ``{param}``); the OpenAPI document is built from the routes the app registers, so an
operation added, renamed or removed without the document (or the other way round) fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

CONTRACT = Path(__file__).resolve().parent.parent / "docs" / "contract.md"
HEADING = re.compile(r"^#{2,5} `(GET|POST|PUT|PATCH|DELETE) (/api/v1/\S+)`\s*$", re.MULTILINE)
SELF = ("GET", "/api/v1/openapi.json")  # the document does not list itself


def documented() -> list[tuple[str, str]]:
    return HEADING.findall(CONTRACT.read_text(encoding="utf-8"))


def served(client) -> set[tuple[str, str]]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200, response.data[:500]
    return {(method.upper(), path) for path, operations in response.json["paths"].items()
            for method in operations}


def test_the_document_names_each_operation_once():
    operations = documented()
    assert len(operations) > 40, "the headings of docs/contract.md were not found"
    repeated = {op for op in operations if operations.count(op) > 1}
    assert not repeated, f"listed twice in docs/contract.md: {sorted(repeated)}"


def test_every_served_operation_is_documented_and_nothing_else(hub):
    in_doc = set(documented())
    in_spec = served(hub.client) | {SELF}
    missing = sorted(in_spec - in_doc)
    stale = sorted(in_doc - in_spec)
    assert not missing, f"served but missing from docs/contract.md: {missing}"
    assert not stale, f"in docs/contract.md but not served: {stale}"


def test_the_openapi_document_itself_needs_no_token(hub):
    assert hub.client.get("/api/v1/openapi.json").status_code == 200
    assert hub.client.get("/api/v1/orgs").status_code == 401


def test_the_openapi_success_statuses_are_the_ones_the_routes_answer(hub):
    """Each is answered as stated by a test of its own route (test_login, test_matrices,
    test_push_preview, test_push_api); the document must not say otherwise."""
    paths = hub.client.get("/api/v1/openapi.json").json["paths"]

    def status(method: str, path: str) -> str:
        return next(iter(code for code in paths[path][method]["responses"]
                         if code.startswith("2")))

    assert status("delete", "/api/v1/session") == "200"
    assert status("delete", "/api/v1/matrices/{slug}") == "200"
    assert status("post", "/api/v1/items/{item_id}/push/preview") == "200"
    assert status("post", "/api/v1/items/{item_id}/withdraw/preview") == "200"
    assert status("post", "/api/v1/items/{item_id}/push") == "202"
    assert status("post", "/api/v1/items") == "201"
