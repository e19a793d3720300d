"""Login and logout through the admin UI: the hub's session machinery behind a form."""

from __future__ import annotations

from hub.models import AuditEntry
from hub.services.sessions import COOKIE

from .support import PASSWORD, Browser


def _audit(hub, action: str) -> list[AuditEntry]:
    with hub.runtime.db.session() as db:
        return list(db.query(AuditEntry).filter(AuditEntry.action == action)
                    .order_by(AuditEntry.id))


def test_anonymous_pages_redirect_to_the_login_form(newsroom):
    browser = Browser(newsroom.hub.app)
    for path in ("/admin/", "/admin/items", "/admin/accounts", "/admin/audit"):
        response = browser.get(path)
        assert response.status_code == 303
        assert response.location.startswith("/admin/login?next=")
    page = browser.text("/admin/login")
    assert '<html lang="zh-CN">' in page and "用户名" in page and "密码" in page
    assert browser.get("/admin/static/admin.css").status_code == 200  # public


def test_login_sets_the_hub_session_cookie_and_logout_ends_it(newsroom):
    hub = newsroom.hub
    newsroom.user("editor")
    browser = Browser(hub.app)
    browser.get("/admin/login")
    response = browser.post("/admin/login", {"name": "editor", "password": PASSWORD,
                                             "next": "/admin/items?status=draft"})
    assert response.status_code == 303 and response.location == "/admin/items?status=draft"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(COOKIE))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = browser.text("/admin/")
    assert "editor" in page and "退出登录" in page
    # The same session works on the API (what the progress page polls).
    me = browser.client.get("/api/v1/session")
    assert me.status_code == 200 and me.json["via"] == "session"
    assert [e.outcome for e in _audit(hub, "login")] == ["ok"]

    logged_out = browser.post("/admin/logout")
    assert logged_out.status_code == 303 and logged_out.location == "/admin/login"
    assert "已退出登录" in browser.text("/admin/login")
    assert browser.get("/admin/").status_code == 303
    assert browser.client.get("/api/v1/session").status_code == 401
    assert [e.action for e in _audit(hub, "logout")] == ["logout"]


def test_wrong_password_is_refused_in_words_and_audited(newsroom):
    newsroom.user("editor")
    browser = Browser(newsroom.hub.app)
    browser.get("/admin/login")
    response = browser.post("/admin/login", {"name": "editor", "password": "not the password"})
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "用户名或密码错误" in page and "Traceback" not in page
    assert not any(c.startswith(COOKIE) for c in response.headers.getlist("Set-Cookie"))
    empty = browser.post("/admin/login", {"name": "", "password": ""})
    assert empty.status_code == 422 and "请输入用户名和密码" in empty.get_data(as_text=True)
    assert [e.outcome for e in _audit(newsroom.hub, "login")] == ["failed"]


def test_failed_logins_are_throttled(newsroom):
    newsroom.user("editor")
    browser = Browser(newsroom.hub.app)
    browser.get("/admin/login")
    for _ in range(5):
        assert browser.post("/admin/login", {"name": "editor",
                                             "password": "guess guess"}).status_code == 401
    throttled = browser.post("/admin/login", {"name": "editor", "password": PASSWORD})
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert "登录失败次数过多" in throttled.get_data(as_text=True)


def test_login_form_needs_its_csrf_token(newsroom):
    newsroom.user("editor")
    browser = Browser(newsroom.hub.app)
    browser.get("/admin/login")
    for token in (False, "forged-token"):
        response = browser.post("/admin/login", {"name": "editor", "password": PASSWORD},
                                csrf=token)
        assert response.status_code == 403
        assert "请刷新页面后重试" in response.get_data(as_text=True)
        assert not any(c.startswith(COOKIE) for c in response.headers.getlist("Set-Cookie"))
    assert browser.get("/admin/").status_code == 303  # still logged out
    assert _audit(newsroom.hub, "login") == []


def test_login_never_redirects_off_site(newsroom):
    newsroom.user("editor")
    for target in ("https://evil.example/", "//evil.example/admin/", "/api/v1/session",
                   "/admin/\r\nSet-Cookie: x=1", "/\\\\evil.example/admin/"):
        browser = Browser(newsroom.hub.app)
        browser.get("/admin/login")
        response = browser.post("/admin/login", {"name": "editor", "password": PASSWORD,
                                                 "next": target})
        assert response.status_code == 303 and response.location == "/admin/"
    # Already logged in: the login page sends the user on.
    assert browser.get("/admin/login").status_code == 303


def test_logout_needs_the_csrf_token(newsroom):
    browser = newsroom.browser("editor")
    for token in (False, "forged-token"):
        response = browser.post("/admin/logout", csrf=token)
        assert response.status_code == 403
    assert browser.get("/admin/").status_code == 200  # still logged in
