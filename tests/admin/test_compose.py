"""Writing in the browser: a new draft with a cover, a new version of it, refusals that show
the API's reason next to what the editor typed and save nothing, and who may write."""

from __future__ import annotations

import io
import re

from PIL import Image
from sqlalchemy import func, select

from hub.models import Asset, Item
from tests.storage import samples

FORM = {"title": "全省防汛工作会议召开", "summary": "部署防汛", "author": "记者 王敏",
        "source": "云省日报", "body": "<p>会议要求各地做好防汛准备。</p><script>x()</script>",
        "tags": "防汛、应急，会议", "shared_to_library": "1"}


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), (20, 90, 160)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _counts(newsroom) -> tuple[int, int]:
    with newsroom.hub.runtime.db.session() as session:
        return (session.execute(select(func.count()).select_from(Item)).scalar_one(),
                session.execute(select(func.count()).select_from(Asset)).scalar_one())


def test_an_editor_writes_a_draft_with_a_cover_then_a_second_version(newsroom):
    editor = newsroom.browser("editor")
    page = editor.text("/admin/items")
    assert 'href="/admin/items/new"' in page and "写稿" in page
    assert "所属机构" in editor.text("/admin/items/new")
    response = editor.post("/admin/items/new", {
        **FORM, "org": "c1-k1", "cover": (io.BytesIO(_jpeg()), "封面.jpg", "image/jpeg")},
        content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    item_id = response.location.rsplit("/", 1)[1]
    assert "已保存（第1版）" in editor.follow(response)
    item = newsroom.hub.get(f"/api/v1/items/{item_id}").json
    assert (item["org"], item["kind"], item["status"], item["version"]) == (
        "c1-k1", "article", "draft", 1)
    assert (item["title"], item["summary"], item["author"], item["source"]) == (
        FORM["title"], FORM["summary"], FORM["author"], FORM["source"])
    assert item["body"] == "<p>会议要求各地做好防汛准备。</p>"  # the API's sanitiser ran
    assert item["tags"] == ["防汛", "应急", "会议"] and item["shared_to_library"] is True
    with newsroom.hub.runtime.db.session() as session:
        cover = session.get(Asset, item["cover"])
        assert (cover.kind, cover.width, cover.height) == ("image", 64, 32)

    edit_page = editor.text(f"/admin/items/{item_id}/edit")
    assert FORM["title"] in edit_page and "防汛、应急、会议" in edit_page
    assert "保存后为第2版" in edit_page and "保留现有封面" in edit_page
    response = editor.post(f"/admin/items/{item_id}/edit", {
        **FORM, "title": "全省防汛工作会议召开（更新）", "shared_to_library": ""},
        content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    again = newsroom.hub.get(f"/api/v1/items/{item_id}").json
    assert (again["version"], again["title"], again["shared_to_library"]) == (
        2, "全省防汛工作会议召开（更新）", False)
    assert again["cover"] == item["cover"]  # no new file: the cover stays


def test_a_video_needs_its_file_and_keeps_it_across_versions(newsroom):
    editor = newsroom.browser("editor")
    typed = {**FORM, "kind": "video", "body": "", "title": "防汛一线直击"}
    before = _counts(newsroom)
    response = editor.post("/admin/items/new", typed, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "视频稿件需要至少一个视频素材" in page, page[:800]
    assert '<option value="video" selected>' in page
    assert _counts(newsroom)[0] == before[0]
    response = editor.post("/admin/items/new", {
        **typed, "video": (io.BytesIO(samples.video()), "直击.mp4", "video/mp4")},
        content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    item_id = response.location.rsplit("/", 1)[1]
    item = newsroom.hub.get(f"/api/v1/items/{item_id}").json
    assert (item["kind"], item["title"], len(item["assets"])) == ("video", "防汛一线直击", 1)
    assert "保留现有视频" in editor.text(f"/admin/items/{item_id}/edit")
    response = editor.post(f"/admin/items/{item_id}/edit", {**typed, "summary": "新的摘要"},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    again = newsroom.hub.get(f"/api/v1/items/{item_id}").json
    assert (again["version"], again["summary"], again["assets"]) == (2, "新的摘要", item["assets"])


def test_a_refused_draft_shows_the_reason_beside_what_was_typed_and_saves_nothing(newsroom):
    editor = newsroom.browser("editor")
    before = _counts(newsroom)
    typed = {**FORM, "title": "", "body": "<p>这一段不能丢。</p>"}
    response = editor.post("/admin/items/new", {
        **typed, "cover": (io.BytesIO(_jpeg()), "c.jpg", "image/jpeg")},
        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page[:800]
    assert "标题 不能为空" in page and "title 不能为空" not in page  # the field in Chinese
    assert "&lt;p&gt;这一段不能丢。&lt;/p&gt;" in page and "部署防汛" in page  # kept, escaped
    assert 'name="title" value="" required maxlength="100" aria-invalid="true"' in page
    assert _counts(newsroom)[0] == before[0]
    # The cover went up before the refusal: the form carries it, nobody chooses it again.
    carried = re.search(r'name="cover_asset" value="([^"]+)"', page)
    assert carried and "已上传的文件会随本次保存使用" in page, page[:800]
    response = editor.post("/admin/items/new", {**typed, "title": "补上标题",
                                                "cover_asset": carried.group(1)},
                           content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    saved = newsroom.hub.get(f"/api/v1/items/{response.location.rsplit('/', 1)[1]}").json
    assert (saved["title"], saved["cover"]) == ("补上标题", carried.group(1))
    assert _counts(newsroom) == (before[0] + 1, before[1] + 1)  # one item, one stored cover
    before = _counts(newsroom)

    response = editor.post("/admin/items/new", {**FORM, "org": "atlantis"},
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and "atlantis" in page and FORM["title"] in page, page
    response = editor.post("/admin/items/new", {
        **FORM, "cover": (io.BytesIO(b"not an image"), "c.jpg", "image/jpeg")},
        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 415, page[:800]
    assert FORM["summary"] in page
    assert _counts(newsroom)[0] == before[0]


def test_only_writers_see_and_use_the_form_and_withdrawn_items_stay_as_they_are(newsroom):
    item_id = newsroom.item("c1", "approved")
    newsroom.withdraw(item_id)
    editor = newsroom.browser("editor")
    assert "修改稿件" not in editor.text(f"/admin/items/{item_id}")
    response = editor.post(f"/admin/items/{item_id}/edit", FORM,
                           content_type="multipart/form-data")
    assert response.status_code == 409, response.status_code
    assert "已撤回" in response.get_data(as_text=True)
    draft = newsroom.item("c1", "draft")
    assert 'data-action="edit"' in editor.text(f"/admin/items/{draft}")
    auditor = newsroom.browser("auditor")
    assert 'href="/admin/items/new"' not in auditor.text("/admin/items")
    assert auditor.get("/admin/items/new").status_code == 403
    assert auditor.post("/admin/items/new", FORM).status_code == 403
    assert auditor.get(f"/admin/items/{draft}/edit").status_code == 403
    before = _counts(newsroom)
    assert editor.post("/admin/items/new", FORM, csrf="forged").status_code == 403
    assert _counts(newsroom) == before


def test_the_editor_is_told_which_outside_images_were_taken_out(newsroom):
    editor = newsroom.browser("editor")
    response = editor.post("/admin/items/new", {
        **FORM, "org": "c1-k1",
        "body": '<p style="position:fixed;z-index:9999;color:red">正文</p>'
                '<img src="http://evil.example/x.png"><img src="https://cdn.example/y.jpg">'},
        content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    page = editor.follow(response)
    assert 'class="flash warn"' in page and "2个外部图片或视频" in page
    assert "http://evil.example/x.png" in page and "https://cdn.example/y.jpg" in page
    body = newsroom.hub.get(f"/api/v1/items/{response.location.rsplit('/', 1)[1]}").json["body"]
    assert body == '<p style="color:red">正文</p>'
