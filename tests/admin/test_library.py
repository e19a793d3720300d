"""云稿库 in the browser: the shared approved items, search, and 转载 into one's own org as a
derived draft (localised title), refusals in words, and who may pull."""

from __future__ import annotations

from sqlalchemy import func, select

from hub.models import Item


def _items(newsroom) -> int:
    with newsroom.hub.runtime.db.session() as session:
        return session.execute(select(func.count()).select_from(Item)).scalar_one()


def test_an_operator_finds_a_shared_item_and_pulls_it_with_a_local_title(newsroom):
    shared = newsroom.item("c1", "approved", title="全省防汛工作会议召开", shared_to_library=True,
                           tags=["防汛"])
    private = newsroom.item("c1", "approved", title="内部通知", shared_to_library=False)
    operator = newsroom.browser("operator")  # of c1-k1
    page = operator.text("/admin/library")
    assert 'href="/admin/library"' in page
    assert f'data-item="{shared}"' in page and f'data-item="{private}"' not in page
    assert "转载到本单位" in page
    assert f'data-item="{shared}"' not in operator.text("/admin/library?q=台风")
    assert f'data-item="{shared}"' in operator.text("/admin/library?q=防汛&tag=防汛")
    response = operator.post(f"/admin/library/{shared}/pull", {"title": "我县转发：防汛会议"})
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    assert "已转载为本单位草稿" in operator.follow(response)
    copy = newsroom.hub.get(f"/api/v1/items/{response.location.rsplit('/', 1)[1]}").json
    assert (copy["org"], copy["status"], copy["title"], copy["origin"]["item"]) == (
        "c1-k1", "draft", "我县转发：防汛会议", shared)
    before = _items(newsroom)
    again = operator.post(f"/admin/library/{shared}/pull", {})
    assert again.status_code == 303 and again.location.endswith("/admin/library")
    assert "本机构已转载过该稿件" in operator.follow(again) and _items(newsroom) == before


def test_readers_cannot_pull_and_nobody_pulls_outside_their_scope(newsroom):
    shared = newsroom.item("c1", "approved", shared_to_library=True)
    auditor = newsroom.browser("auditor")
    page = auditor.text("/admin/library")
    assert f'data-item="{shared}"' in page and "转载到本单位" not in page
    before = _items(newsroom)
    assert auditor.post(f"/admin/library/{shared}/pull", {}).status_code == 403
    operator = newsroom.browser("operator")
    assert operator.post(f"/admin/library/{shared}/pull", {"org": "c2"}).status_code == 403
    assert operator.post(f"/admin/library/{shared}/pull", {}, csrf="forged").status_code == 403
    assert _items(newsroom) == before
    response = operator.post("/admin/library/itm_nope/pull", {})
    assert response.status_code == 303 and _items(newsroom) == before
    assert "itm_nope" in operator.follow(response)  # the API's "not found", in words
