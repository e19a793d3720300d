"""Editors never see a traceback: failures are readable pages, and the API keeps its JSON."""

from __future__ import annotations

from hub.services import dashboard as dashboard_service


def test_an_internal_failure_is_a_readable_page(newsroom, monkeypatch):
    browser = newsroom.browser("editor")

    def broken(*_args, **_kwargs):
        raise RuntimeError("database exploded: secret detail")

    monkeypatch.setattr(dashboard_service, "build", broken)
    response = browser.get("/admin/")
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert "服务器内部错误" in page
    assert "Traceback" not in page and "secret detail" not in page and "RuntimeError" not in page


def test_wrong_methods_and_the_api_keep_their_shapes(newsroom):
    item = newsroom.item("c1", "draft")
    browser = newsroom.browser("editor")
    response = browser.get(f"/admin/items/{item}/submit")  # an action is POST only
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert newsroom.status(item) == "draft"
    api = newsroom.hub.get("/api/v1/items/itm_nope")
    assert api.status_code == 404 and api.json["error"]["code"] == "not_found"
    assert browser.get("/admin").status_code in (301, 308)  # to /admin/
