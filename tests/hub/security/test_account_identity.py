"""A platform identity (appid, uid, open_id, city app) belongs to one account across all orgs.

The attack these guard against: a county admin registers, in their own county, an account
naming another county's appid with a wrong secret and an api_base of their choosing, hoping
the worker hands it the other account's token (or posts as the other account). The adapters
no longer share tokens between credentials (tests/platform_core/test_token_isolation.py);
here the hub refuses the second registration outright, with a 409 that names no org.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.infra.ids import new_id
from hub.models import Account, Org
from hub.services import account_identity
from tests.hub.helpers import error_of, make_account, make_org, make_tree, wechat_account

from .support import make_user

LISTENER = "http://127.0.0.1:9/listener"


def _county_admins(hub) -> dict[str, str]:
    make_tree(hub)
    make_org(hub, "c2-k1", "county", "c2")
    return {org: make_user(hub, f"admin-{org}", ["admin"], org=org)["token"]
            for org in ("c1-k1", "c2-k1")}


def _assert_taken(response, field: str = "credentials") -> None:
    assert response.status_code == 409, response.get_json()
    error = error_of(response)
    assert error["code"] == "identity_taken" and error["details"] == {"field": field}
    text = response.get_data(as_text=True)
    for secret in ("c1-k1", "acc_", "机构c1"):  # neither the org holding it nor its account
        assert secret not in text


def test_another_countys_appid_with_a_wrong_secret_is_refused(hub):
    admins = _county_admins(hub)
    victim = make_account(hub, "c1-k1", "清江发布")
    appid = f"wx-{victim['name']}"
    for variant in (appid, f"  {appid} ", appid.upper()):
        attack = {"org": "c2-k1", "platform": "wechat", "name": "冒名号",
                  "credentials": {"appid": variant, "secret": "wrong-secret-0123456789"}}
        _assert_taken(hub.post("/api/v1/accounts", attack, token=admins["c2-k1"]))
        # Aimed at a listener of the county's choosing it is refused before that: only a
        # province admin sets api_base (the outbound policy).
        aimed = hub.post("/api/v1/accounts", {**attack, "api_base": LISTENER},
                         token=admins["c2-k1"])
        assert aimed.status_code == 403, aimed.get_json()
        imported = hub.post("/api/v1/accounts/import", {"accounts": [attack]},
                            token=admins["c2-k1"])
        _assert_taken(imported, "accounts[0].credentials")
    own = make_account(hub, "c2-k1", "本县发布")
    patched = hub.patch(f"/api/v1/accounts/{own['id']}", {"credentials": {
        "appid": appid, "secret": "wrong-secret-0123456789"}}, token=admins["c2-k1"])
    _assert_taken(patched)
    with hub.runtime.db.session() as session:
        holders = session.execute(select(Account.org_id, Org.slug).join(Org).where(
            Account.external_id.in_([appid, appid.upper()]))).all()
    assert [slug for _, slug in holders] == ["c1-k1"]


def test_the_holder_itself_may_re_register_and_re_import(hub):
    make_tree(hub)
    account = make_account(hub, "c1", "清江发布")
    body = wechat_account("c1", "清江发布")
    again = hub.patch(f"/api/v1/accounts/{account['id']}", {"credentials": {
        **body["credentials"], "secret": "rotated-secret-0123456789"}})
    assert again.status_code == 200, again.json
    imported = hub.post("/api/v1/accounts/import", {"accounts": [body]})
    assert imported.json == {"created": 0, "updated": 1}
    # Given up by its account, an identity is free for another.
    hub.patch(f"/api/v1/accounts/{account['id']}", {"credentials": {
        "appid": "wx-replacement", "secret": "another-secret-0123456789"}})
    moved = hub.post("/api/v1/accounts", {**body, "org": "c2"})
    assert moved.status_code == 201, moved.json


def test_one_identity_twice_in_one_import_is_refused(hub):
    make_tree(hub)
    first = wechat_account("c1", "甲")
    second = {**wechat_account("c2", "乙"), "credentials": first["credentials"]}
    r = hub.post("/api/v1/accounts/import", {"accounts": [first, second]})
    assert r.status_code == 422
    assert error_of(r)["details"]["field"] == "accounts[1].credentials"
    assert hub.get("/api/v1/accounts").json["items"] == []
    # One account listed twice is about its name, as before.
    r = hub.post("/api/v1/accounts/import", {"accounts": [first, first]})
    assert r.status_code == 422 and error_of(r)["details"]["field"] == "accounts[1].name"


def _douyin(org: str, name: str, open_id: str) -> dict[str, Any]:
    return {"org": org, "platform": "douyin", "name": name, "credentials": {
        "client_key": "hub_app", "client_secret": "the-hub-apps-secret", "open_id": open_id,
        "access_token": f"act.{name}", "refresh_token": f"rft.{name}"}}


def _cityapp(org: str, name: str, url: str) -> dict[str, Any]:
    return {"org": org, "platform": "cityapp", "name": name,
            "credentials": {"webhook_url": url, "signing_secret": f"whsec-{name}"}}


def _weibo(org: str, name: str, **credentials: str) -> dict[str, Any]:
    return {"org": org, "platform": "weibo", "name": name, "credentials": credentials}


@pytest.mark.parametrize("first,second", [
    (_douyin("c1", "抖音甲", "ou_0001"), _douyin("c2", "抖音乙", "ou_0001")),
    (_cityapp("c1", "城市甲", "http://city.example/cityapp/webhook/app01"),
     _cityapp("c2", "城市乙", "HTTP://City.Example:80/cityapp/webhook/app01/")),
    (_weibo("c1", "微博甲", access_token="2.00tok-a", uid="5000000001"),
     _weibo("c2", "微博乙", access_token="2.00tok-b", uid="5000000001")),
    (_weibo("c1", "微博甲", access_token="2.00tok-same"),
     _weibo("c2", "微博乙", access_token="2.00tok-same")),
], ids=["douyin-open_id", "cityapp-endpoint", "weibo-uid", "weibo-token"])
def test_every_platforms_identity_is_held_once(hub, first, second):
    make_tree(hub)
    assert hub.post("/api/v1/accounts", first).status_code == 201
    _assert_taken(hub.post("/api/v1/accounts", second))


def test_different_identities_do_not_collide(hub):
    make_tree(hub)
    bodies = [_douyin("c1", "抖音甲", "ou_0001"), _douyin("c2", "抖音乙", "ou_0002"),
              _cityapp("c1", "城市甲", "http://city.example/cityapp/webhook/app01"),
              _cityapp("c2", "城市乙", "http://other-city.example/cityapp/webhook/app01"),
              _weibo("c1", "微博甲", access_token="2.00tok-a"),
              _weibo("c2", "微博乙", access_token="2.00tok-b")]
    r = hub.post("/api/v1/accounts/import", {"accounts": bodies})
    assert r.json == {"created": 6, "updated": 0}, r.json


def test_the_database_itself_refuses_a_second_holder(hub):
    """Two registrations racing past the check: the unique index decides."""
    make_tree(hub)
    account = make_account(hub, "c1", "清江发布")
    with pytest.raises(IntegrityError), hub.runtime.db.session() as session:
        held = session.get(Account, account["id"])
        assert held.identity_key and len(held.identity_key) == 64
        assert "wx-" not in held.identity_key  # a keyed hash, not the appid
        session.add(Account(id=new_id("acc"), org_id=held.org_id, platform="wechat",
                            name="竞争者", identity_key=held.identity_key,
                            credentials_sealed=b"\x01"))
        session.flush()


def test_accounts_from_before_get_their_keys_and_duplicates_are_flagged(hub):
    make_tree(hub)
    first = make_account(hub, "c1", "清江发布")
    box = hub.runtime.box
    with hub.runtime.db.session() as session:
        c2 = session.execute(select(Org.id).where(Org.slug == "c2")).scalar_one()
        session.get(Account, first["id"]).identity_key = None  # as the migration leaves it
        twin_id = new_id("acc")
        credentials = wechat_account("c1", "清江发布")["credentials"]
        session.add(Account(id=twin_id, org_id=c2, platform="wechat", name="旧的重复号",
                            credentials_sealed=box.seal(credentials, bound_to=twin_id)))
    with hub.runtime.db.session() as session:
        assert account_identity.backfill(session, box) == 1
    with hub.runtime.db.session() as session:
        kept, twin = session.get(Account, first["id"]), session.get(Account, twin_id)
        assert kept.identity_key and kept.flagged_reason is None
        assert twin.identity_key is None and twin.flagged_reason == account_identity.DUPLICATE_FLAG
    with hub.runtime.db.session() as session:
        assert account_identity.backfill(session, box) == 0  # idempotent
