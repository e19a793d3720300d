"""云稿库: GET /api/v1/library and POST /api/v1/library/<id>/pull, on SQLite and PostgreSQL.

The library holds approved, shared, non-withdrawn items only; a pull makes a draft copy in the
county that must pass the county's own 三审; refusals write nothing; withdrawing the origin
withdraws the copy (and, end to end with real workers, removes both from the platforms).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from tests.hub.helpers import error_of

from .library_helpers import COUNTY, OTHER_CITY, PROVINCE, library, user


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [entry["id"] for entry in response.json["items"]]


def test_library_lists_approved_shared_items_newest_first(hub):
    lib = library(hub)
    first = lib.item(title="全省防汛工作会议召开", tags=["防汛", "会议"])
    time.sleep(0.01)
    second = lib.item(title="秋季森林防火提示", summary="进入防火期", tags=["防火"],
                      body="<p>严禁野外用火，发现火情请拨打<b>12119</b>。</p>")
    lib.item(shared_to_library=False)  # approved, private
    lib.item("draft")
    lib.item("in_review")
    withdrawn = lib.item("withdrawn")
    county_reader = user(hub, "k1-operator", ["operator"], COUNTY)

    r = hub.get("/api/v1/library", token=county_reader)
    assert _ids(r) == [second, first]
    assert r.json["next_cursor"] is None
    entry = r.json["items"][0]
    assert entry["title"] == "秋季森林防火提示" and entry["org"] == PROVINCE
    assert entry["status"] == "approved" and entry["url"].endswith(f"/p/{second}")
    assert entry["tags"] == ["防火"] and "12119" in entry["body"] and entry["origin"] is None
    assert withdrawn not in _ids(hub.get("/api/v1/library"))

    # q matches Chinese text in the title, the summary and the body; every term must match.
    assert _ids(hub.get("/api/v1/library?q=防汛")) == [first]
    assert _ids(hub.get("/api/v1/library", query_string={"q": "防火期"})) == [second]
    assert _ids(hub.get("/api/v1/library", query_string={"q": "野外用火"})) == [second]
    assert _ids(hub.get("/api/v1/library", query_string={"q": "会议 防汛"})) == [first]
    assert _ids(hub.get("/api/v1/library", query_string={"q": "会议 森林"})) == []
    assert _ids(hub.get("/api/v1/library", query_string={"q": "100%_"})) == []
    assert _ids(hub.get("/api/v1/library", query_string={"q": "   "})) == [second, first]
    # tag and org filters
    assert _ids(hub.get("/api/v1/library", query_string={"tag": "防火"})) == [second]
    assert _ids(hub.get("/api/v1/library", query_string={"tag": "会议"})) == [first]
    assert _ids(hub.get("/api/v1/library", query_string={"tag": "防"})) == []
    assert _ids(hub.get(f"/api/v1/library?org={PROVINCE}")) == [second, first]
    assert _ids(hub.get("/api/v1/library?org=c1")) == []
    # pages
    page1 = hub.get("/api/v1/library?limit=1")
    assert _ids(page1) == [second] and page1.json["next_cursor"]
    page2 = hub.get("/api/v1/library", query_string={"limit": 1,
                                                     "cursor": page1.json["next_cursor"]})
    assert _ids(page2) == [first] and page2.json["next_cursor"] is None


def test_library_bad_queries(hub):
    library(hub)
    for query, status in [({"org": "ghost"}, 404), ({"limit": "0"}, 422), ({"limit": "x"}, 422),
                          ({"cursor": "%%%"}, 422), ({"cursor": "bm90LWEtY3Vyc29y"}, 422),
                          ({"q": "字" * 101}, 422), ({"q": "a b c d e f"}, 422),
                          ({"tag": "标" * 21}, 422)]:
        r = hub.get("/api/v1/library", query_string=query)
        assert r.status_code == status, (query, r.json)
        error_of(r)
    assert hub.client.get("/api/v1/library").status_code == 401


def test_pull_makes_a_draft_copy_for_the_county_own_review(hub):
    lib = library(hub)
    cover = lib.png()
    origin = lib.item(cover=cover, assets=[cover])
    r = lib.pull(origin, title="我县传达全省防汛工作会议精神", summary="本县部署")
    assert r.status_code == 201, r.json
    copy = r.json
    assert copy["org"] == COUNTY and copy["status"] == "draft" and copy["version"] == 1
    assert copy["origin"] == {"item": origin, "org": PROVINCE, "org_name": "机构yun"}
    assert copy["root"] == origin and copy["shared_to_library"] is False
    assert copy["title"] == "我县传达全省防汛工作会议精神" and copy["summary"] == "本县部署"
    original = hub.get(f"/api/v1/items/{origin}").json
    assert copy["body"] == original["body"] and copy["author"] == original["author"]
    assert copy["source"] == "云省日报"  # the reprint attribution keeps the original source
    assert copy["cover"] == cover and copy["assets"] == [cover]  # assets shared, not copied
    assert original["status"] == "approved" and original["version"] == 1

    # Not approved until the county's own three reviews.
    push = hub.post(f"/api/v1/items/{copy['id']}/push", {"targets": {"orgs": [COUNTY]}})
    assert push.status_code == 409 and error_of(push)["code"] == "not_approved"
    assert hub.get(f"/p/{copy['id']}").status_code == 404
    lib.approve_copy(copy["id"])
    approved = hub.get(f"/api/v1/items/{copy['id']}").json
    assert approved["status"] == "approved"
    assert [t["reviewer_name"] for t in approved["review"]["trail"]] == [
        "k1-reviewer1", "k1-reviewer2", "k1-reviewer3"]
    page = hub.get(f"/p/{copy['id']}")
    assert page.status_code == 200 and "转载自机构yun" in page.get_data(as_text=True)

    # A pull without a localised title keeps the original's; the source falls back to the org.
    bare = lib.item(source="")
    kept = lib.pulled(bare, org=OTHER_CITY, token=user(hub, "c2-op", ["operator"], OTHER_CITY))
    assert kept["title"] == hub.get(f"/api/v1/items/{bare}").json["title"]
    assert kept["source"] == "机构yun" and kept["org"] == OTHER_CITY

    audit = hub.get("/api/v1/audit?action=item.pull").json["items"]
    assert [(e["item"], e["target"], e["outcome"]) for e in audit] == [
        (kept["id"], bare, "ok"), (copy["id"], origin, "ok")]
    assert audit[1]["details"]["org"] == COUNTY


def test_pull_defaults_to_the_caller_org_and_a_copy_can_be_shared_on(hub):
    lib = library(hub)
    origin = lib.item()
    r = hub.post(f"/api/v1/library/{origin}/pull", {}, token=lib.county["editor"])
    assert r.status_code == 201 and r.json["org"] == COUNTY, r.json
    copy = r.json["id"]
    # The county shares its localised copy; once approved it is in the library, lineage kept.
    assert hub.patch(f"/api/v1/items/{copy}", {"shared_to_library": True},
                     token=lib.county["editor"]).status_code == 200
    lib.approve_copy(copy)
    listed = {e["id"]: e for e in hub.get("/api/v1/library").json["items"]}
    assert listed[copy]["origin"]["item"] == origin
    assert _ids(hub.get("/api/v1/library?org=c1")) == []
    assert _ids(hub.get("/api/v1/library?org=c1&descendants=1")) == [copy]
    second = lib.pulled(copy, org=OTHER_CITY,
                        token=user(hub, "c2-editor", ["editor"], OTHER_CITY))
    assert second["origin"]["item"] == copy and second["root"] == origin


def test_pull_refusals_write_nothing(hub):
    lib = library(hub)
    origin = lib.item()
    private = lib.item(shared_to_library=False)
    draft = lib.item("draft")
    in_review = lib.item("in_review")
    withdrawn = lib.item("withdrawn")
    county_draft = lib.item("draft", org=COUNTY, shared_to_library=False)
    reviewer = lib.county["r1"]
    auditor = user(hub, "k1-auditor", ["auditor"], COUNTY)
    first = lib.pulled(origin)
    before = lib.rows()

    def refused(response, status: int, code: str | None = None, field: str | None = None):
        assert response.status_code == status, (status, response.json)
        error = error_of(response)
        if code:
            assert error["code"] == code, error
        if field:
            assert error["details"]["field"] == field, error
        return error

    editor = lib.county["editor"]
    url = f"/api/v1/library/{origin}/pull"
    refused(hub.post(url, data=b'{"org": ', token=editor,
                     headers={"Content-Type": "application/json"}), 400, "malformed_json")
    refused(hub.post(url, ["c1-k1"], token=editor), 422)
    refused(hub.post(url, {"org": 7}, token=editor), 422, field="org")
    refused(hub.post(url, {"org": ""}, token=editor), 422, field="org")
    refused(lib.pull(origin, title=""), 422, field="title")
    refused(lib.pull(origin, title="长" * 101), 422, field="title")
    refused(lib.pull(origin, title=["x"]), 422, field="title")
    refused(lib.pull(origin, summary=5), 422, field="summary")
    refused(lib.pull("itm_missing"), 404)
    refused(lib.pull(origin, org="ghost"), 404)
    refused(lib.pull(origin, org=OTHER_CITY), 403)  # outside the county editor's subtree
    refused(lib.pull(origin, token=reviewer), 403)
    refused(lib.pull(origin, token=auditor), 403)
    refused(hub.client.post(url, json={"org": COUNTY}), 401)
    refused(lib.pull(private), 404)  # another org's private item: not the caller's business
    refused(lib.pull(private, token=hub.token), 409, "not_in_library")
    refused(lib.pull(draft), 409, "not_approved")
    refused(lib.pull(in_review), 409, "not_approved")
    refused(lib.pull(withdrawn), 409, "item_withdrawn")
    refused(lib.pull(county_draft), 409, "not_in_library")
    refused(lib.pull(origin, org=PROVINCE, token=hub.token), 409, "own_item")
    again = refused(lib.pull(origin, title="换个标题再转一次"), 409, "already_pulled")
    assert again["details"]["item"] == first["id"]
    assert lib.rows() == before
    rejected = hub.get("/api/v1/audit?action=item.pull&outcome=rejected").json["items"]
    assert {e["details"]["code"] for e in rejected} == {
        "not_in_library", "not_approved", "item_withdrawn", "own_item", "already_pulled"}


def test_withdrawing_the_origin_withdraws_the_copy(hub):
    lib = library(hub)
    origin = lib.item()
    copy = lib.pulled(origin)["id"]
    lib.approve_copy(copy)
    assert hub.get(f"/p/{copy}").status_code == 200
    r = hub.post(f"/api/v1/items/{origin}/withdraw", {"reason": "内容有误"})
    assert r.status_code == 202, r.json
    for item in (origin, copy):
        got = hub.get(f"/api/v1/items/{item}").json
        assert got["status"] == "withdrawn" and got["withdraw_reason"] == "内容有误"
        assert hub.get(f"/p/{item}").status_code == 410
    assert copy not in [e["id"] for e in hub.get(f"/feeds/{COUNTY}.json").json["items"]]
    assert hub.get("/api/v1/library").json["items"] == []
    r = lib.pull(origin, org=OTHER_CITY, token=user(hub, "c2-op", ["operator"], OTHER_CITY))
    assert r.status_code == 409 and error_of(r)["code"] == "item_withdrawn"


def test_concurrent_pulls_and_withdrawals_never_leave_a_live_copy(pg_hub):
    """PostgreSQL: the origin's row lock orders pulls and withdrawals of the same item."""
    lib = library(pg_hub)

    def call(path: str, body: dict, token: str) -> int:
        return pg_hub.app.test_client().post(
            path, json=body, headers={"Authorization": f"Bearer {token}"}).status_code

    origin = lib.item()
    pull = (f"/api/v1/library/{origin}/pull", {"org": COUNTY}, lib.county["editor"])
    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(lambda _: call(*pull), range(4)))
    assert statuses == [201, 409, 409, 409]

    for _ in range(4):
        origin = lib.item()
        calls = [(f"/api/v1/library/{origin}/pull", {"org": COUNTY}, lib.county["editor"]),
                 (f"/api/v1/items/{origin}/withdraw", {"reason": "内容有误"}, pg_hub.token)]
        with ThreadPoolExecutor(2) as pool:
            pulled, withdrawn = pool.map(lambda c: call(*c), calls)
        assert withdrawn == 202 and pulled in (201, 409)
        copies = pg_hub.get(f"/api/v1/audit?item={origin}&action=item.pull").json["items"]
        for entry in copies:
            if entry["outcome"] == "ok":
                assert pg_hub.get(f"/api/v1/items/{entry['item']}").json["status"] == \
                    "withdrawn"


def test_withdraw_origin_takes_pulled_copy_off_every_platform(fanout):
    """End to end on PostgreSQL, the sandbox and real worker processes."""
    hub = fanout.hub
    lib = library(hub)
    accounts = {org: [_sandbox_account(fanout, org, n) for n in range(3)]
                for org in ("c1", COUNTY)}
    origin = lib.item(cover=fanout.cover())  # a WeChat article needs a cover
    copy = lib.pulled(origin, title="我县传达全省防汛工作会议精神")["id"]
    lib.approve_copy(copy)
    pushes = [fanout.push(origin, {"accounts": accounts["c1"]}),
              fanout.push(copy, {"accounts": accounts[COUNTY]})]
    fanout.start_workers(2)
    for pushed in pushes:
        done = fanout.wait_dispatch(pushed["dispatch_id"], timeout=60)
        failed = hub.get(f"/api/v1/dispatches/{pushed['dispatch_id']}/deliveries?state=failed")
        live = done["counts"]["published"] + done["counts"]["pending_review"]
        assert live == 3, (done, failed.json["items"][:1])
    assert fanout.live_posts() == 6
    feed = hub.get(f"/feeds/{COUNTY}.json").json
    assert [e["id"] for e in feed["items"]] == [copy]

    withdrawal = fanout.withdraw(origin)
    assert withdrawal["total"] == 6
    done = fanout.wait_withdrawal(withdrawal["withdrawal_id"], timeout=60)
    assert done["remaining"] == 0 and done["counts"]["withdrawn"] == 6, done
    assert fanout.live_posts() == 0 and fanout.duplicates() == 0
    for item in (origin, copy):
        assert hub.get(f"/api/v1/items/{item}").json["status"] == "withdrawn"
    assert hub.get(f"/p/{copy}").status_code == 410
    feed = hub.get(f"/feeds/{COUNTY}.json").json
    assert feed["items"] == [] and [t["id"] for t in feed["_yunchu"]["withdrawn"]] == [copy]
    assert copy not in hub.get(f"/feeds/{COUNTY}.rss").get_data(as_text=True)


def _sandbox_account(fanout, org: str, n: int) -> str:
    appid = f"wx{org.replace('-', '')}{n:04d}"
    r = fanout.hub.post("/api/v1/accounts", {
        "org": org, "platform": "wechat", "name": f"{org}-wechat-{n}",
        "credentials": {"appid": appid, "secret": f"secret-{n}-0123456789"},
        "api_base": fanout.sandbox.platform_url("wechat")})
    assert r.status_code == 201, r.json
    return r.json["id"]
