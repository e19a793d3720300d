"""The address `yunchu up` prints (the site's root) leads to the admin, whose sign-in page a
newcomer then sees, instead of a 404."""

from __future__ import annotations


def test_the_root_leads_to_the_admin_sign_in(hub):
    response = hub.client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/")
    followed = hub.client.get("/", follow_redirects=True)
    assert followed.status_code == 200
    assert "登录" in followed.get_data(as_text=True)
