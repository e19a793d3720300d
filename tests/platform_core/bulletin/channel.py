"""The notice board's renderer: the title and the summary, with the item's link."""

from __future__ import annotations

import hashlib

from channels.base import CannotRender, ItemVersionView, MediaSource, Post

PLATFORM = "bulletin"


class BulletinChannel:
    platform = PLATFORM

    def render(self, item: ItemVersionView, media: MediaSource) -> Post:
        if item.kind != "article":
            raise CannotRender("公告栏只接受图文稿件 (the notice board takes articles only)")
        text = f"{item.summary or item.title}\n{item.public_url}"
        fields = {"title": item.title, "text": text}
        digest = hashlib.sha256(f"{item.title}\n{text}".encode()).hexdigest()
        return Post(platform=PLATFORM, fields=fields, content_hash=digest)
