"""ECharts options (plain dicts, handed to admin/static/reach.js as JSON) and the rankings'
server-drawn SVG sparklines for the reach pages."""

from __future__ import annotations

from typing import Any

from . import i18n

SPARK_W, SPARK_H = 96, 20


def sparkline(values: list[int]) -> dict[str, Any]:
    """An SVG polyline's points for a day series, scaled to its own maximum."""
    if not values:
        return {"points": "", "total": 0}
    top = max(values) or 1
    step = SPARK_W / max(len(values) - 1, 1)
    points = " ".join(f"{i * step:.1f},{SPARK_H - 1 - (v / top) * (SPARK_H - 2):.1f}"
                      for i, v in enumerate(values))
    return {"points": points, "total": sum(values), "w": SPARK_W, "h": SPARK_H}


def _platform(name: str) -> str:
    return i18n.label("platform", name)


def ranking_bars(section: dict[str, Any], top: int = 10) -> dict[str, Any]:
    rows = section["ranking"][:top][::-1]  # the first rank at the top of a horizontal bar
    return {
        "grid": {"left": 8, "right": 24, "top": 8, "bottom": 8, "containLabel": True},
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "data": [r["name"] for r in rows]},
        "series": [{"type": "bar", "name": section["index"]["name"],
                    "data": [r["index"] for r in rows], "itemStyle": {"color": "#1f5fbf"},
                    "label": {"show": True, "position": "right"}}],
    }


def item_over_time(days: list[str], per_platform: dict[str, dict[str, int]]
                   ) -> dict[str, Any]:
    """Reads + plays per day, one stacked series per platform."""
    series = []
    for platform, by_day in sorted(per_platform.items()):
        series.append({"type": "line", "name": _platform(platform), "stack": "views",
                       "areaStyle": {}, "smooth": True, "showSymbol": False,
                       "data": [by_day.get(day, 0) for day in days]})
    return {
        "grid": {"left": 8, "right": 16, "top": 32, "bottom": 8, "containLabel": True},
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "xAxis": {"type": "category", "boundaryGap": False, "data": days},
        "yAxis": {"type": "value"}, "series": series,
    }


def item_platforms(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "tooltip": {"trigger": "item"}, "legend": {"bottom": 0},
        "series": [{"type": "pie", "radius": ["35%", "65%"],
                    "data": [{"name": _platform(r["platform"]), "value": r["reads"] + r["plays"]}
                             for r in rows]}],
    }


def item_orgs(rows: list[dict[str, Any]], top: int = 15) -> dict[str, Any]:
    rows = sorted(rows, key=lambda r: -(r["reads"] + r["plays"]))[:top][::-1]
    return {
        "grid": {"left": 8, "right": 24, "top": 8, "bottom": 8, "containLabel": True},
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "data": [r["name"] for r in rows]},
        "series": [{"type": "bar", "data": [r["reads"] + r["plays"] for r in rows],
                    "itemStyle": {"color": "#2f8f5b"}}],
    }


def item_cities(item: dict[str, Any]) -> dict[str, Any]:
    """One pushed item's reach by city (the province breakdown of the rankings page)."""
    rows = item["by_city"][::-1]
    return {
        "title": {"text": item["title"] or item["item"], "textStyle": {"fontSize": 13}},
        "grid": {"left": 8, "right": 24, "top": 32, "bottom": 8, "containLabel": True},
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "data": [r["name"] or "—" for r in rows]},
        "series": [{"type": "bar", "data": [r["reads"] + r["plays"] for r in rows],
                    "itemStyle": {"color": "#c0392b"}}],
    }
