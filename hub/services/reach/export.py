"""Rankings as CSV or XLSX (one table per platform, then the hot articles): the files an
office forwards. Column heads are Chinese with the English in brackets, like the API's
messages, so one file serves both."""

from __future__ import annotations

import csv
import io
from typing import Any

from ...models.reach import FIGURES

FIGURE_HEADS = {"reads": "阅读 (reads)", "likes": "点赞/在看 (likes)", "shares": "转发 (shares)",
                "comments": "评论 (comments)", "plays": "播放 (plays)"}
RANK_HEADS = ["平台 (platform)", "排名 (rank)", "上期排名 (previous rank)", "变化 (change)",
              "名称 (name)", "机构 (org)", "传播力指数·估算 (index, estimate)",
              "上期指数 (previous index)", "篇数 (posts)", *FIGURE_HEADS.values(),
              "指数版本 (index version)"]
HOT_HEADS = ["平台 (platform)", "标题 (title)", "账号 (account)", "机构 (org)",
             "站外发布 (outside yunchu)", *FIGURE_HEADS.values()]
NO_REACH_HEADS = ["平台 (platform)", "名称 (name)", "机构 (org)"]


def ranking_rows(answer: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for section in answer["platforms"]:
        version = f'{section["index"]["version"]}/{section["index"]["formula"]}'
        for r in section["ranking"]:
            rows.append([section["platform"], r["rank"], r["previous_rank"], r["change"],
                         r["name"], r["org_name"], r["index"], r["previous_index"],
                         r["posts"], *(r.get(f, 0) for f in FIGURES), version])
    return rows


def hot_rows(answer: dict[str, Any]) -> list[list[Any]]:
    return [[h["platform"], h["title"], h["account_name"], h["org"],
             "是" if h["outside"] else "否", *(h[f] for f in FIGURES)] for h in answer["hot"]]


def no_reach_rows(answer: dict[str, Any]) -> list[list[Any]]:
    return [[s["platform"], n["name"], n.get("org_name") or n.get("org")]
            for s in answer["platforms"] for n in s["no_reach"]]


def title(answer: dict[str, Any]) -> str:
    scope = answer.get("org_name") or "全省"
    return f'{scope} 传播力排行 {answer["period"]["id"]} (估算)'


def to_csv(answer: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([title(answer)])
    writer.writerow(RANK_HEADS)
    writer.writerows(ranking_rows(answer))
    writer.writerow([])
    writer.writerow(["热门文章 (hot articles)"])
    writer.writerow(HOT_HEADS)
    writer.writerows(hot_rows(answer))
    writer.writerow([])
    writer.writerow(["无传播账号 (no reach)"])
    writer.writerow(NO_REACH_HEADS)
    writer.writerows(no_reach_rows(answer))
    # A BOM so that Excel opens the UTF-8 file as UTF-8 (Chinese names).
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(answer: dict[str, Any]) -> bytes:
    from openpyxl import Workbook  # imported on use: only exports need it

    book = Workbook()
    sheets = (("排行 ranking", RANK_HEADS, ranking_rows(answer)),
              ("热门文章 hot", HOT_HEADS, hot_rows(answer)),
              ("无传播 no reach", NO_REACH_HEADS, no_reach_rows(answer)))
    for position, (name, heads, rows) in enumerate(sheets):
        sheet = book.active if position == 0 else book.create_sheet()
        sheet.title = name
        sheet.append([title(answer)])
        sheet.append(heads)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
