"""The consent pages of the emulated OAuth platforms (Weibo ``/oauth2/authorize``, Douyin
``/platform/oauth/connect/``): fixture accounts to pick, scope checkboxes, 同意授权 / 拒绝.

The "phone" is the form the page posts back to the same path: a browser test clicks the
button, a headless test posts ``account``, ``scope`` (repeated) and ``decision`` itself. Each
platform module decides what an approval mints and where it redirects.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from aiohttp import web


@dataclass(frozen=True)
class Fixture:
    """An account a consent page offers. ``banned``: approving it is refused by the platform."""

    id: str
    name: str
    kind: str  # 个人 / 政务 / 企业
    banned: bool = False


WEIBO_FIXTURES: tuple[Fixture, ...] = (
    Fixture("1404376560", "云城发布", "政务"),
    Fixture("1404376561", "云城公安", "政务"),
    Fixture("1404376562", "云城文旅", "企业"),
    Fixture("1404376569", "已封禁账号", "个人", banned=True),
)
DOUYIN_FIXTURES: tuple[Fixture, ...] = (
    Fixture("ou_dy_yuncheng", "云城融媒", "政务"),
    Fixture("ou_dy_police", "云城警方", "政务"),
    Fixture("ou_dy_culture", "云城文旅", "企业"),
    Fixture("ou_dy_banned", "已封禁账号", "个人", banned=True),
)


def fixture(fixtures: Iterable[Fixture], account_id: str) -> Fixture | None:
    return next((f for f in fixtures if f.id == account_id), None)


def with_query(url: str, params: dict[str, str]) -> str:
    joiner = "&" if urlsplit(url).query else "?"
    return f"{url}{joiner}{urlencode(params)}"


def page(*, title: str, app: str, fixtures: Sequence[Fixture], hidden: dict[str, str],
         scopes: Sequence[tuple[str, bool, bool]] = ()) -> web.Response:
    """The consent page; ``scopes`` are (name, ticked, locked) checkboxes."""
    esc = html.escape
    fields = "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">'
                     for k, v in hidden.items())
    accounts = "".join(
        f'<label><input type="radio" name="account" value="{esc(f.id)}"'
        f'{" checked" if i == 0 else ""}> {esc(f.name)}（{esc(f.kind)}，{esc(f.id)}）</label><br>'
        for i, f in enumerate(fixtures))
    boxes = "".join(
        f'<label><input type="checkbox" name="scope" value="{esc(name)}"'
        f'{" checked" if ticked or locked else ""}{" disabled" if locked else ""}>'
        f' {esc(name)}{"（必选）" if locked else ""}</label>'
        + (f'<input type="hidden" name="scope" value="{esc(name)}">' if locked else "")
        + "<br>"
        for name, ticked, locked in scopes)
    body = (
        f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{esc(title)}"
        f"</title></head><body><h1>{esc(title)}</h1><p>应用 {esc(app)} 请求授权</p>"
        f"<form method='post'>{fields}<fieldset><legend>选择账号</legend>{accounts}</fieldset>"
        + (f"<fieldset><legend>授权范围</legend>{boxes}</fieldset>" if scopes else "")
        + "<button type='submit' name='decision' value='approve'>同意授权</button> "
        "<button type='submit' name='decision' value='deny'>拒绝</button></form></body></html>"
    )
    return web.Response(text=body, content_type="text/html", charset="utf-8")


def error_page(message: str, status: int = 400) -> web.Response:
    body = (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>授权失败"
            f"</title></head><body><h1>授权失败</h1><p>{html.escape(message)}</p></body></html>")
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
