"""Live progress bars for a push or a withdrawal (rich), polling the hub once a second."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .client import HubClient

PUBLISH_DONE = ("published", "pending_review", "failed", "cancelled", "skipped")
STATE_LABELS = {"published": "已发布", "pending_review": "平台审核中", "failed": "失败",
                "cancelled": "已取消", "skipped": "跳过", "withdrawn": "已撤回",
                "manual": "待人工处理", "queued": "排队", "sending": "发送中", "retry": "待重试"}


def summary(counts: dict[str, int]) -> str:
    return "  ".join(f"{STATE_LABELS.get(k, k)} {v}" for k, v in counts.items() if v)


def follow_dispatches(client: HubClient, dispatch_ids: dict[str, str], *, interval: float = 0.5,
                      console: Console | None = None, timeout: float = 3600) -> dict[str, Any]:
    """Bars for several pushes at once (label -> dispatch id) until all are done."""
    results: dict[str, Any] = {}
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                  console=console) as progress:
        tasks = {label: progress.add_task(f"推送 {label}", total=None, detail="")
                 for label in dispatch_ids}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for label, dispatch_id in dispatch_ids.items():
                data = client.call("GET", f"/api/v1/dispatches/{dispatch_id}")
                results[label] = data
                done = sum(data["counts"].get(s, 0) for s in PUBLISH_DONE)
                progress.update(tasks[label], total=data["total"], completed=done,
                                detail=summary(data["counts"]))
            if all(r["state"] == "done" for r in results.values()):
                break
            time.sleep(interval)
    return results


def follow_withdrawal(client: HubClient, withdrawal_id: str, *, interval: float = 0.5,
                      console: Console | None = None, timeout: float = 3600) -> dict[str, Any]:
    data: dict[str, Any] = {}
    with Progress(TextColumn("[bold red]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("剩余 {task.fields[remaining]}  {task.fields[detail]}"),
                  TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("撤稿", total=None, remaining="?", detail="")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = client.call("GET", f"/api/v1/withdrawals/{withdrawal_id}")
            progress.update(task, total=data["total"], completed=data["total"] - data["remaining"],
                            remaining=data["remaining"], detail=summary(data["counts"]))
            if data["state"] == "done":
                break
            time.sleep(interval)
    return data
