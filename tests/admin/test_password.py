"""Every signed-in user changes their own password in the admin: the API's own change (current
password checked, throttled, audited, every session ended) behind a CSRF-protected form."""

from __future__ import annotations

from hub.models import AuditEntry

from .support import PASSWORD, Browser

NEW = "一个新的密码-2026-abc"


def _change(browser: Browser, current: str, new: str = NEW, again: str | None = None, **kw):
    return browser.post("/admin/password", {"current_password": current, "new_password": new,
                                            "new_password2": new if again is None else again},
                        **kw)


def test_every_user_reaches_the_page_from_the_header(newsroom):
    for who in ("editor", "reviewer1", "auditor"):
        browser = newsroom.browser(who)
        assert 'href="/admin/password"' in browser.text("/admin/")
        page = browser.text("/admin/password")
        assert "修改密码" in page and "当前密码" in page and "再输入一次新密码" in page
        english = browser.text("/admin/password?lang=en")
        assert "Current password" in english and "当前密码" not in english


def test_a_changed_password_signs_in_and_the_old_one_no_longer(newsroom):
    browser = newsroom.browser("editor")
    browser.get("/admin/password")
    response = _change(browser, PASSWORD)
    assert response.status_code == 303 and response.location == "/admin/login"
    assert "密码已修改，请用新密码重新登录" in browser.follow(response)
    assert browser.get("/admin/").status_code == 303  # this session ended too
    assert Browser(newsroom.hub.app).login("editor", PASSWORD).status_code == 401
    assert Browser(newsroom.hub.app).login("editor", NEW).status_code == 303


def test_a_wrong_current_password_is_refused_in_words(newsroom):
    browser = newsroom.browser("editor")
    browser.get("/admin/password")
    response = _change(browser, "not-my-password")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "当前密码错误，密码未修改" in page and "Traceback" not in page
    with newsroom.hub.runtime.db.session() as db:
        outcomes = [e.outcome for e in db.query(AuditEntry)
                    .filter(AuditEntry.action == "user.password")]
    assert outcomes == ["failed"]
    assert browser.get("/admin/").status_code == 200  # still signed in
    browser.get("/admin/password?lang=en")
    english = _change(browser, "not-my-password").get_data(as_text=True)
    assert "The current password is wrong" in english
    assert Browser(newsroom.hub.app).login("editor", PASSWORD).status_code == 303


def test_two_different_new_passwords_or_a_short_one_are_refused(newsroom):
    browser = newsroom.browser("editor")
    browser.get("/admin/password")
    response = _change(browser, PASSWORD, again=NEW + "x")
    assert response.status_code == 422
    assert "两次输入的新密码不一致" in response.get_data(as_text=True)
    response = _change(browser, PASSWORD, new="short")
    assert response.status_code == 422
    assert "密码须为10到200位" in response.get_data(as_text=True)
    assert Browser(newsroom.hub.app).login("editor", PASSWORD).status_code == 303


def test_the_form_needs_the_sessions_csrf_token(newsroom):
    browser = newsroom.browser("editor")
    browser.get("/admin/password")
    for csrf in (False, "forged-token"):
        response = _change(browser, PASSWORD, csrf=csrf)
        assert response.status_code == 403
    assert Browser(newsroom.hub.app).login("editor", PASSWORD).status_code == 303
