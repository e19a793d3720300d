"""The ``yunchu`` command line."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from .config import ConfigError, Settings, load_settings
from .platforms import names as platform_names
from .ports import stop_processes


class PlatformName(click.ParamType):
    """A registered platform, looked up when the option is used (loading the specs at import
    would slow every command down)."""

    name = "platform"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        known = platform_names()
        if value not in known:
            self.fail(f"{value!r} 不是已知平台 (not a platform): {', '.join(known)}", param, ctx)
        return value


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as err:
        raise click.ClickException(f"配置错误 (configuration error): {err}") from None


def _runtime(settings: Settings):
    from .runtime import Runtime

    return Runtime(settings)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def main(verbose: bool) -> None:
    """云厨 yunchu — the regional central-kitchen hub for government new media."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--data-dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Where the embedded defaults write (default ./var).")
@click.pass_context
def up(ctx: click.Context, host: str, port: int, data_dir: Path | None) -> None:
    """Start the API, the admin UI, the workers and any embedded services in one process tree."""
    from werkzeug.serving import make_server

    from .app import create_app
    from .auth import BOOTSTRAP_USER
    from .bootstrap import first_password, prepare
    from .embedded import EmbeddedRedis

    settings = _settings(ctx, data_dir=data_dir)
    embedded = None
    if settings.redis_embedded:
        embedded = EmbeddedRedis(settings.data_dir)
        settings = settings.with_overrides(redis_url=embedded.start())
    public_url = settings.public_url or f"http://{host}:{port}"
    settings = settings.with_overrides(public_url=public_url)
    runtime = _runtime(settings)
    token = prepare(runtime)
    password = first_password(runtime)
    workers = _start_workers(settings)
    server = make_server(host, port, create_app(runtime=runtime), threaded=True)
    click.echo(f"url: http://{host}:{server.port}/")
    click.echo(f"token: {token}")
    if password:  # the first start only; it is kept as a hash, so it cannot be shown again
        click.echo(f"login: {BOOTSTRAP_USER} / {password}")
        click.echo("首次登录密码只显示这一次，登录后请在“修改密码”页更换 (shown once: sign in at "
                   f"http://{host}:{server.port}/admin/ and change it)")
    sys.stdout.flush()

    def _stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        stop_processes(workers)
        runtime.close()
        if embedded:
            embedded.stop()


def _start_workers(settings: Settings) -> list[subprocess.Popen]:
    env = {**os.environ, "YUNCHU_REDIS_URL": settings.redis_url,
           "YUNCHU_DATABASE_URL": settings.database_url,
           "YUNCHU_DATA_DIR": str(settings.data_dir),
           "YUNCHU_PUBLIC_URL": settings.public_url}
    return [subprocess.Popen([sys.executable, "-m", "hub.cli", "worker"], env=env)
            for _ in range(settings.workers)]


@main.command()
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.pass_context
def worker(ctx: click.Context, burst: bool) -> None:
    """Run one fan-out worker (withdrawals first, then pushes, then maintenance)."""
    from .worker import run_worker

    settings = _settings(ctx)
    if settings.redis_embedded:
        raise click.ClickException("yunchu worker needs YUNCHU_REDIS_URL (the hub's Redis)")
    run_worker(_runtime(settings), burst=burst)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply all schema migrations."""
    from .bootstrap import upgrade

    runtime = _runtime(_settings(ctx))
    upgrade(runtime)
    click.echo("database is at the latest schema")


@main.group()
def users() -> None:
    """People and their tokens."""


@users.command("create")
@click.option("--org", "org_slug", default=None, help="Org slug (omit for province-wide).")
@click.option("--role", "roles", multiple=True, required=True,
              help="admin, editor, reviewer, operator or auditor (repeatable).")
@click.option("--name", required=True)
@click.option("--stage", type=click.IntRange(1, 3), default=None,
              help="Review stage for reviewers: 1 初审, 2 复审, 3 终审.")
@click.pass_context
def users_create(ctx: click.Context, org_slug: str | None, roles: tuple[str, ...], name: str,
                 stage: int | None) -> None:
    """Create a user and print its bearer token (shown once)."""
    from . import migrate
    from .errors import ApiError
    from .services import orgs as org_service
    from .services import users as user_service

    runtime = _runtime(_settings(ctx))
    migrate.upgrade(runtime.db.engine)
    try:
        role_list, stage = user_service.parse_roles(list(roles), stage)
        with runtime.db.session() as session:
            org = org_service.get_by_slug(session, org_slug) if org_slug else None
            _, token = user_service.create(session, org=org, name=name, roles=role_list,
                                           review_stage=stage)
    except ApiError as err:
        raise click.ClickException(err.message) from None
    click.echo(token)


@users.command("set-password")
@click.argument("name")
@click.option("--stdin", "from_stdin", is_flag=True,
              help="Read the password from the first line of standard input (for scripts).")
@click.pass_context
def users_set_password(ctx: click.Context, name: str, from_stdin: bool) -> None:
    """Set the admin-UI password of the user NAME (asked twice, or read with --stdin)."""
    from . import migrate
    from .errors import ApiError
    from .services import users as user_service

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("新密码 (new password)", hide_input=True,
                                confirmation_prompt="再输入一次 (repeat)")
    runtime = _runtime(_settings(ctx))
    migrate.upgrade(runtime.db.engine)
    try:
        user_service.check_password(password)
        with runtime.db.session() as session:
            user = user_service.set_password_by_name(session, name, password)
        click.echo(f"已设置 {user.name} 的密码 (password set for {user.name})")
    except ApiError as err:
        raise click.ClickException(err.message) from None
    finally:
        runtime.close()


@main.command("import")
@click.argument("kind", type=click.Choice(["orgs", "accounts"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_cmd(ctx: click.Context, kind: str, file: Path) -> None:
    """Import orgs or accounts from a CSV or JSON file (upsert)."""
    from . import migrate
    from .errors import ApiError
    from .outbound import check_account_urls, policy_for
    from .services import accounts as account_service
    from .services import orgs as org_service

    runtime = _runtime(_settings(ctx))
    migrate.upgrade(runtime.db.engine)
    rows = _read_rows(file, kind)
    try:
        with runtime.db.session() as session:
            if kind == "orgs":
                specs = [org_service.parse_org(r, where=f"{kind}[{i}]") for i, r in enumerate(rows)]
                created, updated = org_service.bulk_import(session, specs)
            else:
                accounts = [account_service.parse_account(r, where=f"{kind}[{i}]")
                            for i, r in enumerate(rows)]
                policy = policy_for(runtime.settings)
                for index, spec in enumerate(accounts):
                    check_account_urls(policy, spec, where=f"{kind}[{index}]")
                created, updated = account_service.bulk_import(session, runtime.box, accounts)
    except ApiError as err:
        detail = f" ({err.details.get('field')})" if err.details.get("field") else ""
        raise click.ClickException(f"{err.message}{detail}") from None
    click.echo(json.dumps({"created": created, "updated": updated}))


def _read_rows(file: Path, kind: str) -> list[dict[str, Any]]:
    from .importfile import UnreadableFile, read_rows

    try:
        return read_rows(file.read_text(encoding="utf-8-sig"), kind,
                         as_json=file.suffix.lower() == ".json")
    except UnreadableFile as err:
        raise click.ClickException(f"{file}: {err}") from None


@main.command()
@click.option("--accounts", "count", default=2000, show_default=True, type=int)
@click.option("--sandbox", default=None, help="Point every account at this sandbox URL.")
@click.pass_context
def seed(ctx: click.Context, count: int, sandbox: str | None) -> None:
    """Build a realistic province with COUNT accounts over the platforms."""
    from . import migrate
    from .seed import seed as run_seed

    settings = _settings(ctx)
    if sandbox:
        from .outbound import policy_for

        if policy_for(settings).url_refusal(None, sandbox) is not None:
            click.echo(f"注意：出站策略不允许连接 {sandbox}，推送前请设置 YUNCHU_OUTBOUND_ALLOW"
                       f"（note: the outbound policy refuses {sandbox}; name its host:port in "
                       f"YUNCHU_OUTBOUND_ALLOW for `yunchu up` and the workers)", err=True)
    runtime = _runtime(settings)
    migrate.upgrade(runtime.db.engine)
    started = time.perf_counter()
    result = run_seed(runtime, accounts=count, sandbox=sandbox)
    click.echo(f"seeded {result.orgs} orgs and {result.accounts} accounts "
               f"{result.by_platform} in {time.perf_counter() - started:.1f}s")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8900, show_default=True, type=int)
@click.option("--latency-ms", default=0, show_default=True, type=float)
@click.option("--jitter-ms", default=0, show_default=True, type=float)
def sandbox(host: str, port: int, latency_ms: float, jitter_ms: float) -> None:
    """Serve the wire-faithful platform sandbox (every platform's emulator)."""
    from sandbox.server import run

    run(host, port, latency_ms=latency_ms, jitter_ms=jitter_ms)


@main.command()
@click.option("--accounts", default=10_000, show_default=True, type=int)
@click.option("--latency-ms", default=100.0, show_default=True, type=float)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--baseline", is_flag=True, help="Also run the job-per-delivery design.")
@click.option("--json", "json_path", default=None, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--timeout", default=1800.0, show_default=True, type=float,
              help="Give up on a phase after this many seconds.")
@click.option("--baseline-timeout", default=None, type=float,
              help="The same for the baseline (default: --timeout); its rate and a lower "
                   "bound of the speed-up are still reported.")
@click.option("--kill-worker-at", default=None, type=click.FloatRange(0.0, 1.0, max_open=True),
              help="Also run the batched design again, SIGKILLing one worker once this share "
                   "of the withdrawal is done; reports kill_added_s against the first run.")
@click.pass_context
def bench(ctx: click.Context, accounts: int, latency_ms: float, workers: int, baseline: bool,
          json_path: Path | None, timeout: float, baseline_timeout: float | None,
          kill_worker_at: float | None) -> None:
    """Measure push and withdrawal end to end against the sandbox (configured PostgreSQL/Redis)."""
    from .bench import run

    _settings(ctx)
    if kill_worker_at is not None and workers < 2:
        raise click.BadParameter("需要至少两个工作进程 (needs --workers 2 or more: one is "
                                 "killed, the others finish)", param_hint="--kill-worker-at")
    report = run(accounts=accounts, latency_ms=latency_ms, baseline=baseline,
                 json_path=json_path, workers=workers, timeout=timeout,
                 baseline_timeout=baseline_timeout, kill_worker_at=kill_worker_at,
                 log=lambda line: click.echo(line, err=True))
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))


def _client(ctx: click.Context, url: str | None, token: str | None):
    from .client import HubClient

    settings = _settings(ctx)
    token = token or settings.bootstrap_token
    if not token:
        path = settings.data_dir / "bootstrap.token"
        if path.exists():
            token = path.read_text().strip()
    if not token:
        raise click.ClickException("需要令牌：--token 或 YUNCHU_TOKEN (a bearer token is required)")
    return HubClient(url or os.environ.get("YUNCHU_URL") or "http://127.0.0.1:8000", token)


_url_option = click.option("--url", default=None, help="Hub URL (default $YUNCHU_URL or :8000).")
_token_option = click.option("--token", default=None, envvar="YUNCHU_TOKEN",
                             help="Bearer token (default $YUNCHU_TOKEN or the bootstrap token).")


@main.command()
@click.argument("item")
@click.option("--all", "everything", is_flag=True, help="Every account of the province.")
@click.option("--org", "orgs", multiple=True, help="Org subtree (repeatable).")
@click.option("--platform", "platforms", multiple=True,
              type=PlatformName())
@click.option("--matrix", "matrices", multiple=True)
@click.option("--account", "accounts", multiple=True)
@click.option("--schedule-at", default=None, help="RFC 3339 time to publish at.")
@click.option("--follow", is_flag=True, help="Show live progress until done.")
@_url_option
@_token_option
@click.pass_context
def push(ctx: click.Context, item: str, everything: bool, orgs: tuple[str, ...],
         platforms: tuple[str, ...], matrices: tuple[str, ...], accounts: tuple[str, ...],
         schedule_at: str | None, follow: bool, url: str | None, token: str | None) -> None:
    """One-click push of an approved ITEM."""
    from .client import HubError
    from .follow import follow_dispatches, summary

    client = _client(ctx, url, token)
    try:
        org_list = list(orgs)
        if everything:
            org_list += [o["slug"] for o in client.call(
                "GET", "/api/v1/orgs?kind=province&limit=1000")["items"]]
        body: dict[str, Any] = {"targets": {"orgs": org_list, "platforms": list(platforms),
                                            "matrices": list(matrices),
                                            "accounts": list(accounts)}}
        if schedule_at:
            body["schedule_at"] = schedule_at
        answer = client.call("POST", f"/api/v1/items/{item}/push", body)
        click.echo(f"dispatch: {answer['dispatch_id']} total: {answer['total']}")
        if follow:
            result = follow_dispatches(client, {item: answer["dispatch_id"]})[item]
            click.echo(f"完成 (done): {summary(result['counts'])}")
    except HubError as err:
        raise click.ClickException(str(err)) from None


@main.command()
@click.argument("item")
@click.option("--reason", required=True, help="Why (recorded in the audit log).")
@click.option("--follow", is_flag=True, help="Show live progress until zero remain.")
@_url_option
@_token_option
@click.pass_context
def withdraw(ctx: click.Context, item: str, reason: str, follow: bool, url: str | None,
             token: str | None) -> None:
    """One-click withdrawal of ITEM from every account, copy and feed."""
    from .client import HubError
    from .follow import follow_withdrawal, summary

    client = _client(ctx, url, token)
    try:
        answer = client.call("POST", f"/api/v1/items/{item}/withdraw", {"reason": reason})
        click.echo(f"withdrawal: {answer['withdrawal_id']} total: {answer['total']}")
        if follow:
            result = follow_withdrawal(client, answer["withdrawal_id"])
            click.echo(f"剩余 (remaining): {result['remaining']}  {summary(result['counts'])}")
    except HubError as err:
        raise click.ClickException(str(err)) from None


@main.command()
@click.option("--accounts", default=3000, show_default=True, type=int)
@click.option("--port", default=0, type=int, help="Hub port (default: a free one).")
@click.option("--data-dir", default=Path("var/demo"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
@click.option("--exit", "exit_after", is_flag=True, help="Stop after the summary.")
def demo(accounts: int, port: int, data_dir: Path, exit_after: bool) -> None:
    """Seed a province, push an article and a video to it, withdraw one: all on this machine."""
    from .demo import run_demo

    with contextlib.suppress(KeyboardInterrupt):
        run_demo(data_dir=data_dir, accounts=accounts, port=port, keep_running=not exit_after)


@main.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Check the keyed chain and its checkpoint; exit 1 if any entry was edited or removed."""
    from .audit import verify_chain

    runtime = _runtime(_settings(ctx))
    with runtime.db.session() as session:
        result = verify_chain(session)
    for problem in result.problems:
        click.echo(problem, err=True)
    if not result.ok:
        raise SystemExit(1)
    checkpoint = result.checkpoint
    where = (f"; newest checkpoint: entry {checkpoint.last_id} at {checkpoint.at} "
             f"({', '.join(result.checkpoint_sources)})") if checkpoint else ""
    legacy = f", {result.legacy_entries} from before keying" if result.legacy_entries else ""
    click.echo(f"audit log verified: chain intact ({result.entries} entries{legacy}, "
               f"audit key {runtime.audit.key.key_id}{where})")


@audit.command("reseal")
@click.option("--reason", required=True, help="Why (recorded in the audit log).")
@click.pass_context
def audit_reseal(ctx: click.Context, reason: str) -> None:
    """Accept the log as it is now (after a restore, or once a tampering is investigated): a
    keyed entry records what verify found, and the checkpoint moves to it."""
    from .audit import reseal

    runtime = _runtime(_settings(ctx))
    entry = reseal(runtime.db, reason)
    click.echo(f"audit log resealed at entry {entry.id}")


if __name__ == "__main__":
    main()
