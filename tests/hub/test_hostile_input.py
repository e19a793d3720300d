"""Hostile input is a 4xx in the API's error shape (docs/contract.md), never a 500.

One reproduction per reported case, on SQLite and PostgreSQL: JSON nested 1,000 deep, a lone
surrogate or NUL in any text field, a malformed URL, a wrongly typed field, out-of-range
query parameters, and bodies over the JSON cap, which are refused before they are read.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest

from tests.hub.helpers import error_of, make_account, make_tree, wechat_account
from tests.hub.security.support import approve_all, create_item, newsroom, submit

DEEP = b'{"name": ' + b"[" * 1000 + b"]" * 1000 + b', "password": "x"}'


def raw_json(hub, method: str, path: str, data: bytes | str, *, token: str | None = "boot",
             **kw: Any):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {hub.token if token == 'boot' else token}"
    return hub.client.open(path, method=method, data=data, headers=headers, **kw)


@pytest.fixture
def world(hub) -> dict[str, Any]:
    """A tree, a wechat account and an approved item in c1."""
    make_tree(hub)
    account = make_account(hub, "c1", "acct1")
    people = newsroom(hub)
    item = create_item(hub, people["editor"])
    assert submit(hub, item["id"], people["editor"]).status_code == 200
    approve_all(hub, item["id"], people)
    return {"account": account["id"], "item": item["id"]}


def text_cases(world: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], str]]:
    item = world["item"]
    return [
        ("POST", "/api/v1/session", {"password": "x"}, "name"),
        ("POST", "/api/v1/users", {"org": "c1", "roles": ["editor"]}, "name"),
        ("POST", "/api/v1/orgs", {"slug": "k9", "kind": "county", "parent": "c1"}, "name"),
        ("POST", "/api/v1/accounts", {k: v for k, v in wechat_account("c1", "n").items()
                                      if k != "name"}, "name"),
        ("POST", "/api/v1/items", {"org": "c1", "kind": "article", "body": "<p>正文</p>"},
         "title"),
        ("POST", "/api/v1/matrices", {"slug": "m1", "orgs": ["c1"]}, "name"),
        ("POST", f"/api/v1/items/{item}/withdraw", {}, "reason"),
        ("POST", f"/api/v1/items/{item}/push/preview", {}, "targets"),
    ]


def test_json_nested_1000_deep_is_a_422_on_every_json_route_even_without_login(hub):
    r = raw_json(hub, "POST", "/api/v1/session", DEEP, token=None)
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    assert error_of(r)["code"] == "too_deep"
    make_tree(hub)
    for path in ("/api/v1/orgs", "/api/v1/users", "/api/v1/accounts", "/api/v1/items",
                 "/api/v1/matrices", "/api/v1/orgs/import"):
        r = raw_json(hub, "POST", path, DEEP)
        assert r.status_code == 422, (path, r.get_data(as_text=True)[:300])
        assert error_of(r)["code"] == "too_deep"


def test_moderate_nesting_is_still_accepted_up_to_the_limit(hub):
    from hub.json_input import MAX_DEPTH, check, too_deep

    nested: Any = "x"
    for _ in range(MAX_DEPTH - 1):
        nested = [nested]
    check({"a": nested})  # exactly MAX_DEPTH containers
    with pytest.raises(type(too_deep())):
        check({"a": [nested]})


@pytest.mark.parametrize("bad", ["\ud800", "a\udfffb", "x\x00y"], ids=["surrogate", "low", "nul"])
def test_unstorable_text_in_any_text_field_is_a_422_naming_the_field(hub, world, bad):
    for method, path, body, field in text_cases(world):
        value: Any = {"orgs": [bad]} if field == "targets" else bad
        # json.dumps escapes a lone surrogate and NUL as \\uXXXX, as a hostile client would
        r = raw_json(hub, method, path, json.dumps({**body, field: value}))
        assert r.status_code == 422, (path, r.status_code, r.get_data(as_text=True)[:300])
        error = error_of(r)
        assert error["details"]["field"].startswith(field), (path, error)


def test_unstorable_text_in_a_key_or_nested_field_is_named(hub):
    make_tree(hub)
    body = wechat_account("c1", "n1")
    text = json.dumps(body).replace('"secret": ', '"secret": "\\u0000", "x": ')
    r = raw_json(hub, "POST", "/api/v1/accounts", text)
    assert r.status_code == 422
    assert error_of(r)["details"]["field"] == "credentials.secret"
    r = raw_json(hub, "POST", "/api/v1/orgs/import",
                 '{"orgs": [{"slug": "a", "name": "b", "kind": "county", "p\\ud800": 1}]}')
    assert r.status_code == 422
    assert error_of(r)["details"]["field"] == "orgs[0]"


def test_nul_in_a_query_parameter_or_path_segment_is_a_4xx(hub):
    make_tree(hub)
    for path in ("/api/v1/accounts?org=c%001", "/api/v1/orgs/c%001", "/api/v1/audit?actor=%00",
                 "/api/v1/library?q=%00", "/api/v1/items/itm%00", "/p/itm%00x",
                 "/api/v1/users?cursor=" + base64.urlsafe_b64encode(b"a\x00b").decode()):
        r = hub.get(path)
        assert r.status_code == 422, (path, r.status_code, r.get_data(as_text=True)[:300])
        error_of(r)


def test_nul_in_an_admin_form_is_a_4xx(hub):
    r = hub.client.post("/admin/login", data={"name": "a\x00b", "password": "x"})
    assert r.status_code == 422  # the admin's own error page (HTML) for its routes
    assert "Traceback" not in r.get_data(as_text=True)


@pytest.mark.parametrize("url", ["http://[::1", "http://[::1]:99999/x", "http://h:port/"])
def test_a_malformed_url_in_any_url_field_is_a_422(hub, url):
    make_tree(hub)
    r = hub.post("/api/v1/accounts", wechat_account("c1", "n1", api_base=url))
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    assert error_of(r)["details"]["field"] == "api_base"
    account = make_account(hub, "c1", "n2")
    r = hub.patch(f"/api/v1/accounts/{account['id']}", {"api_base": url})
    assert r.status_code == 422
    assert error_of(r)["details"]["field"] == "api_base"
    r = hub.post("/api/v1/accounts", {"org": "c1", "platform": "cityapp", "name": "app",
                                      "credentials": {"webhook_url": url, "signing_secret": "s"}})
    assert r.status_code == 422
    assert error_of(r)["details"]["field"] == "credentials.webhook_url"


def test_patch_account_with_a_wrongly_typed_name_is_a_422(hub):
    make_tree(hub)
    account = make_account(hub, "c1", "n1")
    for value in (5, [], {"a": 1}, True):
        r = hub.patch(f"/api/v1/accounts/{account['id']}", {"name": value})
        assert r.status_code == 422, (value, r.get_data(as_text=True)[:300])
        assert error_of(r)["details"]["field"] == "name"


@pytest.mark.parametrize("cursor", ["9" * 40, "9223372036854775808", "²", "1" * 5000])
def test_audit_cursor_out_of_range_is_a_422(hub, cursor):
    encoded = base64.urlsafe_b64encode(cursor.encode()).decode().rstrip("=")
    r = hub.get(f"/api/v1/audit?cursor={encoded}")
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    assert error_of(r)["details"]["field"] == "cursor"


class CountingStream(io.RawIOBase):
    """An endless request body that counts what the hub read of it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = len(buffer)
        buffer[:n] = b" " * n
        self.read_bytes += n
        return n


def test_a_large_body_is_refused_from_content_length_before_a_byte_is_read(hub):
    stream = CountingStream()
    r = hub.client.post("/api/v1/session", content_type="application/json", environ_overrides={
        "wsgi.input": stream, "CONTENT_LENGTH": str(30 * 1024 * 1024)})
    assert r.status_code == 413
    assert error_of(r)["code"] == "too_large"
    assert stream.read_bytes == 0


def test_a_chunked_body_without_content_length_is_cut_off_at_the_cap(hub):
    stream = CountingStream()
    r = hub.client.post("/api/v1/session", content_type="application/json", environ_overrides={
        "wsgi.input": stream, "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    assert r.status_code == 413
    assert error_of(r)["code"] == "too_large"
    cap = hub.runtime.settings.max_json_bytes
    assert stream.read_bytes <= cap + 1024 * 1024


def test_json_over_the_cap_is_413_but_an_authenticated_bulk_import_may_be_larger(hub):
    cap = hub.runtime.settings.max_json_bytes
    make_tree(hub)
    orgs = [{"slug": f"k{i:05d}", "name": f"县{i}" + "x" * 150, "kind": "county", "parent": "c1"}
            for i in range(int(cap / 150) + 100)]
    body = json.dumps({"orgs": orgs})
    assert len(body) > cap
    r = raw_json(hub, "POST", "/api/v1/orgs", body)
    assert r.status_code == 413
    assert error_of(r)["details"]["max_bytes"] == cap
    r = raw_json(hub, "POST", "/api/v1/orgs/import", body, token=None)
    assert r.status_code == 401
    r = raw_json(hub, "POST", "/api/v1/orgs/import", body)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert r.json["created"] == len(orgs)


def test_no_route_with_a_larger_cap_reads_an_anonymous_body(hub):
    """Every route marked for large bodies answers an anonymous caller 401 without reading."""
    from hub.web.request_limits import limit_for

    settings = hub.runtime.settings
    big = [(rule, method) for rule in hub.app.url_map.iter_rules()
           for method in (rule.methods or set()) - {"GET", "HEAD", "OPTIONS"}
           if limit_for(settings, hub.app.view_functions[rule.endpoint]) > settings.max_json_bytes]
    paths = {rule.rule for rule, _ in big}
    assert {"/api/v1/orgs/import", "/api/v1/accounts/import", "/api/v1/assets"} <= paths
    for rule, method in big:
        path = rule.rule.replace("<", "").replace(">", "")
        stream = CountingStream()
        r = hub.client.open(path, method=method, content_type="application/json",
                            environ_overrides={"wsgi.input": stream,
                                               "CONTENT_LENGTH": str(settings.max_json_bytes * 4)})
        assert r.status_code in (401, 302, 303), (method, path, r.status_code)
        assert stream.read_bytes == 0, (method, path)
