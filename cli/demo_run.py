"""`yunchu demo`: the whole story on a bare machine in about a minute.

Starts the sandbox platforms, an embedded Redis-compatible server, the hub and two workers;
seeds a province; writes an article with an image and a video item; passes them through
三审; pushes both with progress bars; withdraws one everywhere; prints a summary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hub.infra.children import die_with_parent
from hub.infra.config import load_settings

from .client import HubClient
from .demo_component import DemoComponent
from .follow import follow_dispatches, follow_withdrawal
from .ports import free_port, stop_processes, wait_port


def run_demo(*, data_dir: Path, accounts: int, port: int, keep_running: bool,
             console: Console | None = None) -> dict:
    import logging

    from werkzeug.serving import make_server

    from hub.app import create_app
    from hub.infra.bootstrap import first_password, prepare
    from hub.infra.runtime import Runtime
    from hub.security.auth import BOOTSTRAP_USER

    from .demo_media import demo_cover_jpeg, demo_video_mp4
    from .embedded import EmbeddedRedis
    from .province import seed

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    console = console or Console()
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    processes: list[subprocess.Popen] = []
    embedded = EmbeddedRedis(data_dir)
    server = None
    runtime = None
    try:
        redis_url = embedded.start()
        sandbox_port = free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--port", str(sandbox_port), "--latency-ms", "30",
             "--jitter-ms", "20"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent))
        port = port or free_port()
        hub_url = f"http://127.0.0.1:{port}"
        # The sandbox is on loopback: the outbound policy refuses it unless named.
        sandbox_allow = f"127.0.0.1:{sandbox_port}"
        component = DemoComponent.of_sandbox(sandbox_url)
        settings = load_settings(data_dir=data_dir, redis_url=redis_url, public_url=hub_url,
                                 workers=2, outbound_allow=sandbox_allow,
                                 **component.settings())
        runtime = Runtime(settings)
        token = prepare(runtime)
        password = first_password(runtime)
        wait_port(sandbox_port)
        with console.status("正在建立演示省份 (seeding a province)…"):
            seeded = seed(runtime, accounts=accounts, sandbox=sandbox_url)
        console.print(f"[green]✓[/] 演示省份：{seeded.orgs} 个机构，{seeded.accounts} 个账号 "
                      f"{seeded.by_platform}")
        env = {**os.environ, "YUNCHU_REDIS_URL": redis_url,
               "YUNCHU_DATABASE_URL": settings.database_url, "YUNCHU_DATA_DIR": str(data_dir),
               "YUNCHU_PUBLIC_URL": hub_url, "YUNCHU_SECRET_KEY": settings.secret_key,
               "YUNCHU_OUTBOUND_ALLOW": sandbox_allow,
               "YUNCHU_RECONCILE_INTERVAL_S": "1", **component.env()}
        processes += [subprocess.Popen([sys.executable, "-m", "cli", "worker"], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       preexec_fn=die_with_parent)
                      for _ in range(2)]
        server = make_server("127.0.0.1", port, create_app(runtime=runtime), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        client = HubClient(hub_url, token)
        if not component.register(hub_url):
            console.print("[yellow]![/] 沙箱未能向本平台推送微信第三方平台票据，"
                          "授权接入 › 微信公众号 暂不可用 (the sandbox's ticket push failed)")

        reviewers = [client.call("POST", "/api/v1/users", {
            "org": "yun", "name": f"{name}（第{stage}审）", "roles": ["reviewer"],
            "review_stage": stage})["token"]
            for stage, name in ((1, "初审 李编辑"), (2, "复审 周主任"), (3, "终审 赵总编"))]
        cover = client.upload(demo_cover_jpeg(), "cover.jpg", "image/jpeg")["id"]
        clip = client.upload(demo_video_mp4(), "clip.mp4", "video/mp4")["id"]
        article = client.call("POST", "/api/v1/items", {
            "org": "yun", "kind": "article", "title": "全省部署防汛抗旱工作",
            "body": "<p>省防汛抗旱指挥部召开会议，要求各地压实责任，做好强降雨防范应对。</p>"
                    "<p>会议强调，要加强监测预警，及时转移受威胁群众。</p>",
            "summary": "省防指部署强降雨防范应对工作", "author": "王敏", "source": "云省日报",
            "cover": cover, "tags": ["防汛"], "shared_to_library": True})["id"]
        video = client.call("POST", "/api/v1/items", {
            "org": "yun", "kind": "video", "title": "防汛一线直击", "body": "",
            "summary": "记者直击防汛一线", "author": "融媒体中心", "source": "云省广电",
            "cover": cover, "assets": [clip]})["id"]
        for item in (article, video):
            client.call("POST", f"/api/v1/items/{item}/submit")
            for reviewer in reviewers:
                client.call("POST", f"/api/v1/items/{item}/reviews",
                            {"decision": "approve", "comment": "同意发布"}, token=reviewer)
        console.print("[green]✓[/] 两篇稿件已通过三审 (both items passed 三审)")

        started = time.perf_counter()
        dispatches = {
            "图文 → 微信/微博/客户端": client.call("POST", f"/api/v1/items/{article}/push", {
                "targets": {"orgs": ["yun"], "platforms": ["wechat", "weibo", "cityapp"]}}
            )["dispatch_id"],
            "视频 → 抖音": client.call("POST", f"/api/v1/items/{video}/push", {
                "targets": {"orgs": ["yun"], "platforms": ["douyin"]}})["dispatch_id"],
        }
        pushed = follow_dispatches(client, dispatches, console=console, timeout=600)
        push_s = time.perf_counter() - started

        started = time.perf_counter()
        withdrawal = client.call("POST", f"/api/v1/items/{article}/withdraw",
                                 {"reason": "演示：发现表述错误，全网撤回"})
        withdrawn = follow_withdrawal(client, withdrawal["withdrawal_id"], console=console,
                                      timeout=600)
        withdraw_s = time.perf_counter() - started

        table = Table(title="云厨演示结果 (demo summary)")
        for column in ("", "总数 total", "已发布 published", "失败 failed", "用时 seconds"):
            table.add_column(column)
        for label, data in pushed.items():
            live = data["counts"]["published"] + data["counts"]["pending_review"]
            table.add_row(label, str(data["total"]), str(live), str(data["counts"]["failed"]),
                          f"{push_s:.1f}")
        table.add_row("撤稿 withdrawal", str(withdrawn["total"]),
                      f"剩余 {withdrawn['remaining']}", "", f"{withdraw_s:.1f}")
        console.print(table)
        # The API token stays in its 0600 file (or the environment): a terminal's scrollback
        # is not for secrets, so only where to find it is printed. The sign-in password is
        # shown once (the demo starts afresh each time), kept only as its hash.
        kept_in = ("YUNCHU_BOOTSTRAP_TOKEN" if settings.bootstrap_token
                   else str(settings.data_dir / "bootstrap.token"))
        console.print(f"管理后台 (admin): {hub_url}/admin/   API 令牌见 (API token in): "
                      f"{kept_in}")
        if password:
            console.print(f"login: {BOOTSTRAP_USER} / {password}", markup=False, soft_wrap=True,
                          highlight=False)
        console.print(f"公开稿件页 (public page): {hub_url}/p/{video}")
        summary = {"url": hub_url, "push_s": push_s, "withdraw_s": withdraw_s,
                   "pushed": pushed, "withdrawn": withdrawn, "items": [article, video]}
        if keep_running:
            console.print("按 Ctrl-C 结束演示 (Ctrl-C to stop)")
            while True:
                time.sleep(3600)
        return summary
    finally:
        if server is not None:
            server.shutdown()
        stop_processes(processes)
        if runtime is not None:
            runtime.close()
        embedded.stop()
