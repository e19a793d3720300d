"""Generated hostile requests against every route of /api/v1/openapi.json: never a 5xx.

Hypothesis (derandomised: the same requests on every run) draws, for every operation the
OpenAPI document lists, with no token, a garbage token, an editor's token and the admin's,
one request per round: path segments that are real ids or hostile text, hostile query
parameters, and bodies that are malformed JSON, deep nesting, wrong types, huge numbers, NUL and
lone surrogates, form and multipart bodies. Every answer is below 500, and every error is the
API error shape (docs/contract.md) ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import json
import re
from io import BytesIO
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.hub.helpers import make_account
from tests.hub.security.support import approve_all, create_item, make_user, setup, submit

ROUNDS = 4  # each round: one request per operation and token, ~200; 4 rounds per backend
CODE = re.compile(r"^[a-z][a-z0-9_]*$")

NASTY_TEXT = ["", " ", "\x00", "a\x00b", "\ud800", "x\udfffy", "\ufeff", "%00", "%", "../..",
              "' OR 1=1 --", "null", "9" * 400, "-1", "0", "1e309", "NaN", "中文" * 50,
              "<script>alert(1)</script>", "http://[::1", "http://127.0.0.1:6379/", "a" * 3000,
              "\u202e", "c1", "yun", "wechat", "active", "article", "approve", "true"]
FIELDS = ["name", "slug", "kind", "parent", "org", "platform", "credentials", "api_base",
          "status", "title", "body", "summary", "author", "source", "tags", "targets",
          "schedule_at", "reason", "decision", "comment", "override_reason", "version", "terms",
          "canonical_names", "roles", "review_stage", "password", "current_password",
          "new_password", "orgs", "accounts", "platforms", "matrices", "members", "note",
          "label", "disabled", "shared_to_library", "cover_asset", "video_asset", "window_days",
          "status_reason", "webhook_url", "appid", "secret"]
ENCODABLE = [t for t in NASTY_TEXT if not any(0xD800 <= ord(c) <= 0xDFFF for c in t)]
QUERY = ["limit", "cursor", "org", "platform", "status", "descendants", "state", "q", "tag",
         "actor", "item", "action", "outcome", "since", "until", "window_days", "inspection",
         "kind", "parent", "before"]

scalars = st.one_of(
    st.none(), st.booleans(), st.sampled_from(NASTY_TEXT), st.text(max_size=30),
    st.integers(), st.sampled_from([2**63, -(2**63) - 1, 10**30, 1.5, -0.0, 1e300]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.sampled_from(FIELDS + NASTY_TEXT[:8]), children,
                                               max_size=4)),
    max_leaves=12,
)
objects = st.dictionaries(st.sampled_from(FIELDS), values, max_size=6)


# A valid body per operation: one field of it is replaced with something hostile, so that the
# request gets past the first checks to the code (and the database) behind them.
ORG = {"slug": "fz-org", "name": "县", "kind": "county", "parent": "c1"}
ACCOUNT = {"org": "c1", "platform": "wechat", "name": "号", "api_base": "https://a.example",
           "credentials": {"appid": "wx-fz", "secret": "s3cr3t-fz"}}
ARTICLE = {"org": "c1", "kind": "article", "title": "标题", "body": "<p>正文</p>", "summary": "摘要",
           "author": "记者", "source": "日报", "tags": ["防汛"]}
TARGETS = {"targets": {"orgs": ["c1"], "platforms": ["wechat"], "accounts": [], "matrices": ["mx"]},
           "schedule_at": "2030-01-01T00:00:00Z"}
TEMPLATES: dict[str, dict[str, Any]] = {
    "create_org": ORG, "import_orgs": {"orgs": [ORG]},
    "create_account": ACCOUNT, "import_accounts": {"accounts": [ACCOUNT]},
    "patch_account": {"name": "号", "status": "active", "status_reason": "r",
                      "api_base": "https://a.example", "credentials": ACCOUNT["credentials"]},
    "create_item": ARTICLE, "patch_item": {**ARTICLE, "version": 1},
    "review_item": {"decision": "approve", "comment": "同意", "override_reason": ""},
    "push_item": TARGETS, "preview_push": TARGETS, "withdraw_item": {"reason": "撤回原因"},
    "pull_library_item": {"org": "c1-k1"},
    "create_matrix": {"slug": "fz-mx", "name": "矩阵", "orgs": ["c1"], "accounts": [],
                      "platforms": ["wechat"]},
    "patch_matrix": {"name": "矩阵", "orgs": ["c1"], "accounts": [], "platforms": ["wechat"]},
    "put_safety_terms": {"version": 2, "terms": [{"term": "词", "category": "c", "action": "block"}],
                         "canonical_names": [{"name": "名", "wrong": ["错"]}]},
    "login": {"name": "fuzz-user", "password": "pw-pw-pw-pw"},
    "change_password": {"current_password": "pw", "new_password": "new-pw-new-pw"},
    "create_user": {"org": "c1", "name": "人", "roles": ["editor"], "review_stage": 1,
                    "password": "pw-pw-pw-pw"},
    "patch_user": {"disabled": False, "roles": ["editor"], "review_stage": 2, "name": "人"},
    "create_token": {"label": "标签"}, "task_done": {"note": "备注"},
}
hostile = st.one_of(st.sampled_from(NASTY_TEXT), scalars, values,
                    st.sampled_from([[[[[["x"]]]]], {"a": {"b": {"c": None}}}, [], {}]))


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


def _replaced(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


def deep(depth: int) -> bytes:
    return b'{"name": ' + b"[" * depth + b"]" * depth + b"}"


raw_bodies = st.one_of(
    st.sampled_from([b"", b"{", b"[]", b"null", b'"x"', b"{}" * 3, b'{"a": NaN}',
                     b'{"a": 1e999}', b"\xff\xfe{\x00}\x00", b'{"name": "\\ud800"}',
                     b'{"orgs": "x"}', b'{"accounts": [1, 2]}', b'{"targets": {"orgs": 5}}',
                     b"[" * 100_000]),
    st.sampled_from([65, 1000, 5000]).map(deep),
    st.binary(max_size=40),
)
queries = st.dictionaries(st.sampled_from(QUERY), st.sampled_from(NASTY_TEXT), max_size=3)


@st.composite
def body_of(draw, operation: str) -> dict[str, Any]:
    """Keyword arguments for the test client: a body in one of several hostile forms."""
    form = draw(st.sampled_from(["mutated"] * 4 + ["json", "raw", "form", "multipart", "none"]))
    template = TEMPLATES.get(operation)
    if form == "mutated" and template:
        path = draw(st.sampled_from(_paths(template)))
        body = _replaced(template, path, draw(hostile))
        return {"data": json.dumps(body), "content_type": "application/json"}
    if form in ("json", "mutated"):
        text = json.dumps(draw(st.one_of(objects, values)))  # escapes NUL and lone surrogates
        return {"data": text, "content_type": "application/json"}
    if form == "raw":
        return {"data": draw(raw_bodies),
                "content_type": draw(st.sampled_from(["application/json", "text/plain"]))}
    if form == "form":
        return {"data": draw(st.dictionaries(st.sampled_from(FIELDS), st.sampled_from(ENCODABLE),
                                             max_size=3))}
    if form == "multipart":
        return {"data": {"file": (BytesIO(draw(st.binary(max_size=64))), "x.png"),
                         "name": draw(st.sampled_from(NASTY_TEXT[:4]))},
                "content_type": "multipart/form-data"}
    return {}


@pytest.fixture
def world(hub) -> dict[str, Any]:
    """Real objects, so that path segments sometimes name something that exists."""
    people = setup(hub)
    account = make_account(hub, "c1", "fuzz-acct")
    item = create_item(hub, people["editor"])
    assert submit(hub, item["id"], people["editor"]).status_code == 200
    approve_all(hub, item["id"], people)
    other = make_user(hub, "fuzz-user", ["editor"], org="c1-k1")
    matrix = hub.post("/api/v1/matrices", {"slug": "mx", "name": "矩阵", "orgs": ["c1"]})
    assert matrix.status_code == 201, matrix.json
    tokens = hub.get(f"/api/v1/users/{other['id']}/tokens").json["items"]
    return {
        "ids": {"item_id": [item["id"]], "account_id": [account["id"]],
                "user_id": [other["id"]], "token_id": [t["id"] for t in tokens],
                "org": ["c1", "c1-k1"], "matrix": ["mx"]},
        "tokens": [None, "yc_garbage_token", people["editor"], hub.token],
    }


def operations(hub) -> list[tuple[str, str, list[str], str]]:
    document = hub.client.get("/api/v1/openapi.json").json
    found = []
    for path, verbs in document["paths"].items():
        for verb in verbs:
            found.append((verb.upper(), path, re.findall(r"{([a-z_]+)}", path),
                          verbs[verb]["operationId"]))
    assert len(found) > 40, found  # the whole API, not a handful
    return found


def problem_with(response) -> str | None:
    """What is wrong with this answer to a hostile request, or None."""
    text = response.get_data(as_text=True)
    if response.status_code >= 500:
        return f"{response.status_code}: {text[:300]}"
    if response.status_code < 400:
        return None
    body = response.get_json(silent=True)
    if not isinstance(body, dict) or set(body) != {"error"}:
        return f"{response.status_code} not in the error shape: {text[:300]}"
    error = body["error"]
    if not (isinstance(error, dict) and isinstance(error.get("code"), str)
            and CODE.match(error["code"]) and isinstance(error.get("message"), str)
            and error["message"] and isinstance(error.get("details"), dict)):
        return f"{response.status_code} not in the error shape: {text[:300]}"
    if "Traceback" in text:
        return "a traceback in the answer"
    return None


def test_hostile_requests_to_every_route_never_get_a_5xx(hub, world):
    ops = operations(hub)
    sent = {"count": 0}
    failures: dict[tuple[str, str, str], str] = {}

    # No shrinking: every failure of a round is collected with the request that caused it.
    @settings(max_examples=ROUNDS, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(st.data())
    def one_round(data) -> None:
        for method, template, params, operation in ops:
            for token in world["tokens"]:
                path = template
                for name in params:
                    known = world["ids"].get(name) or world["ids"][
                        "matrix" if "/matrices/" in template else "org"]
                    value = data.draw(st.one_of(st.sampled_from(known),
                                                st.sampled_from(NASTY_TEXT).filter(bool)))
                    path = path.replace("{" + name + "}", _segment(value))
                query = "&".join(f"{k}={_segment(v)}" for k, v in data.draw(queries).items())
                kwargs = data.draw(body_of(operation)) if method in {"POST", "PATCH", "PUT"} else {}
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                response = hub.client.open(path, method=method, query_string=query,
                                           headers=headers, **kwargs)
                sent["count"] += 1
                problem = problem_with(response)
                if problem:
                    failures.setdefault((method, template, problem[:3]),
                                        f"{method} {path} {query} {kwargs}"[:400] + " -> "
                                        + problem)

    one_round()
    assert not failures, "\n".join(failures.values())
    assert sent["count"] >= 500, sent  # per backend


def _segment(value: str) -> str:
    from urllib.parse import quote

    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def test_hostile_requests_to_the_public_routes_never_get_a_5xx(hub, world):
    """The routes outside the API (item pages, media, feeds, callbacks, health): hostile path
    segments, query parameters and bodies are a 4xx (in whatever format the route answers)."""
    rules = [(method, rule.rule, list(rule.arguments)) for rule in hub.app.url_map.iter_rules()
             if not rule.rule.startswith(("/api/", "/admin"))
             for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})]
    assert {"/p/<item_id>", "/media/<asset_id>", "/healthz"} <= {r for _, r, _ in rules}
    failures: dict[tuple[str, str], str] = {}
    known = {"item_id": world["ids"]["item_id"], "account_id": world["ids"]["account_id"],
             "slug": ["c1", "yun"], "fmt": ["rss", "atom", "json"]}

    @settings(max_examples=ROUNDS * 5, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(st.data())
    def one_round(data) -> None:
        for method, rule, params in rules:
            path = rule
            for name in params:
                value = data.draw(st.one_of(st.sampled_from(known.get(name, ["x"])),
                                            st.sampled_from(NASTY_TEXT).filter(bool)))
                path = re.sub(rf"<(?:[a-z]+(?:\([^)]*\))?:)?{name}>", _segment(value), path)
            query = "&".join(f"{k}={_segment(v)}" for k, v in data.draw(st.dictionaries(
                st.sampled_from(["timestamp", "nonce", "signature", "echostr", "encrypt_type",
                                 "msg_signature", "limit", "w", "lang"]),
                st.sampled_from(NASTY_TEXT), max_size=3)).items())
            kwargs = data.draw(body_of("")) if method == "POST" else {}
            response = hub.client.open(path, method=method, query_string=query, **kwargs)
            text = response.get_data(as_text=True)
            if response.status_code >= 500 or "Traceback" in text:
                failures.setdefault((method, rule), f"{method} {path} {query} -> "
                                    f"{response.status_code} {text[:200]}")

    one_round()
    assert not failures, "\n".join(failures.values())
