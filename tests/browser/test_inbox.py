"""Triage one conversation end to end in a real browser, on a hub started by ``yunchu up``
with its worker: WeChat users' messages pushed by the sandbox arrive in the open inbox; the
editor picks it with the keyboard, answers with a 常用回复 (key 1, Ctrl+Enter); a reviewer
approves; the worker sends it as a customer-service message and the sandbox shows it."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from .conftest import PASSWORD, Hub

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]
TOKEN = "InboxCallbackToken"
APPID = "wxinboxbrowser01"
TEMPLATE = "您好，您的留言已收到，我们会尽快答复。"


def _sandbox(sandbox_server, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        sandbox_server.url + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)


@pytest.fixture
def inbox_scene(up: Hub, sandbox_server):
    for slug, kind, parent in (("yun", "province", None), ("c1", "city", "yun"),
                               ("c1-k1", "county", "c1")):
        up.made("POST", "/orgs", {"slug": slug, "name": f"机构{slug}", "kind": kind,
                                  "parent": parent})
    up.made("POST", "/users", {"org": "c1-k1", "name": "inbox-editor", "roles": ["editor"],
                               "password": PASSWORD})
    up.made("POST", "/users", {"org": "yun", "name": "inbox-reviewer", "roles": ["reviewer"],
                               "review_stage": 1, "password": PASSWORD})
    account = up.made("POST", "/accounts", {
        "org": "c1-k1", "platform": "wechat", "name": "县政务微信",
        "credentials": {"appid": APPID, "secret": "secret-inbox-0123456789",
                        "callback_token": TOKEN},
        "api_base": sandbox_server.platform_url("wechat")})["id"]
    up.made("PUT", "/interaction-settings/c1-k1", {"replies_need_approval": True})
    up.made("POST", "/reply-templates", {"org": "c1-k1", "title": "已收到", "text": TEMPLATE})
    sandbox_server.register("wechat", APPID, callback_token=TOKEN,
                            callback_url=f"{up.url}callbacks/wechat/{account}")
    _sandbox(sandbox_server, "POST", "/_sandbox/chatter",
             {"messages_per_day": 600, "abusive_share": 0, "question_share": 1, "seed": 8})
    try:
        time.sleep(1.0)  # the pusher starts counting from its first look at the account
        sandbox_server.advance_clock(600)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = up.api("GET", "/inbox?org=c1-k1").json()["items"]
            if found:
                break
            time.sleep(0.5)
        assert found, "no user message reached the inbox"
        yield found
    finally:
        _sandbox(sandbox_server, "POST", "/_sandbox/chatter", {"messages_per_day": 0})


def test_triage_one_conversation_with_the_keyboard(people, up: Hub, sandbox_server,
                                                   inbox_scene):
    editor = people("inbox-editor")
    editor.goto(up.url + "admin/inbox")
    assert "j / k" in editor.inner_text("#inbox-keys")
    editor.wait_for_selector("#inbox-rows tr.sel")  # the first row is picked
    # Live arrival: more messages come while the page is open and appear without a reload.
    sandbox_server.advance_clock(1800)
    editor.wait_for_selector("#inbox-rows tr.arrived", timeout=30_000)
    assert "新到" in editor.inner_text("#inbox-live")
    first = editor.get_attribute("#inbox-rows tr.sel", "data-id")
    editor.keyboard.press("j")
    editor.keyboard.press("k")
    assert editor.get_attribute("#inbox-rows tr.sel", "data-id") == first
    editor.keyboard.press("Enter")
    editor.wait_for_url(f"**/admin/conversations/{first}")
    assert editor.inner_text("#messages")  # the user's message beside (no post: a message)
    editor.keyboard.press("1")  # the first 常用回复
    assert editor.input_value("#reply-text") == TEMPLATE
    editor.keyboard.press("Control+Enter")
    editor.wait_for_selector("text=回复已提交")
    assert editor.get_attribute("#replies li", "data-state") == "pending_approval"
    assert editor.query_selector('form[data-action="approve"]') is None  # not the editor's

    reviewer = people("inbox-reviewer")
    reviewer.goto(up.url + f"admin/conversations/{first}")
    reviewer.click('form[data-action="approve"] button')
    reviewer.wait_for_selector("text=回复已批准，正在发送")

    deadline = time.monotonic() + 40
    state = None
    while time.monotonic() < deadline:  # the hub's worker sends it on its maintenance queue
        reviewer.reload()
        state = reviewer.get_attribute("#replies li", "data-state")
        if state == "sent":
            break
        time.sleep(1.0)
    assert state == "sent", reviewer.inner_text("#replies")
    assert reviewer.inner_text("#conversation-state") == "已回复"
    sent = _sandbox(sandbox_server, "GET", "/_sandbox/replies?platform=wechat")["entries"]
    assert [(e["action"], e["text"]) for e in sent if e["account"] == APPID] == [
        ("custom_send", TEMPLATE)]

    # Back in the inbox: the answered conversation has left the open tab.
    editor.goto(up.url + "admin/inbox")
    assert editor.query_selector(f'#inbox-rows tr[data-id="{first}"]') is None
