"""GET /api/v1/openapi.json: the OpenAPI 3.1 document, built from the routes actually registered."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, jsonify

from . import api

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "details": {"type": "object"}}}},
}
SUCCESS = {"post": "201", "get": "200", "patch": "200", "put": "200", "delete": "204"}
ACCEPTED = {"api.push_item", "api.withdraw_item", "api.retry_dispatch",
            "api.moderate_conversation"}
# POSTs and DELETEs that answer 200 with a body rather than 201 / 204.
OK_ANSWERS = {"api.import_orgs", "api.import_accounts", "api.submit_item", "api.review_item",
              "api.task_done", "api.login", "api.rescan_safety", "api.revoke",
              "api.change_password", "api.preview_withdraw", "api.preview_push",
              "api.logout", "api.delete_matrix", "api.assign_conversation",
              "api.conversation_state", "api.approve_reply", "api.reject_reply"}


@api.get("/openapi.json")
def openapi():
    return jsonify(build_document())


def build_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        view = current_app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            verb = method.lower()
            status = SUCCESS.get(verb, "200")
            if rule.endpoint in ACCEPTED:
                status = "202"
            elif rule.endpoint in OK_ANSWERS:
                status = "200"
            operation: dict[str, Any] = {
                "operationId": rule.endpoint.removeprefix("api."),
                "summary": (view.__doc__ or rule.endpoint).strip().splitlines()[0],
                "security": [{"bearer": []}],
                "parameters": [{"name": p, "in": "path", "required": True,
                                "schema": {"type": "string"}} for p in rule.arguments],
                "responses": {status: {"description": "success"},
                              **{code: {"$ref": f"#/components/responses/E{code}"}
                                 for code in ("400", "401", "403", "404", "409", "422")}},
            }
            paths.setdefault(path, {})[verb] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "yunchu 云厨 hub API", "version": "1"},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA},
            "responses": {f"E{code}": {"description": text, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}
                for code, text in (("400", "malformed request"), ("401", "no or bad token"),
                                   ("403", "not allowed"), ("404", "unknown id"),
                                   ("409", "state conflict"), ("422", "breaks a rule"))},
        },
    }
