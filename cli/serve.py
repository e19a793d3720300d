"""`yunchu up`, `yunchu worker` and `yunchu sandbox`: the long-running processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from cli.context import command_runtime, command_settings
from cli.ports import stop_processes
from hub.infra.children import die_with_parent
from hub.infra.config import Settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--data-dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Where the embedded defaults write (default ./var).")
@click.pass_context
def up(ctx: click.Context, host: str, port: int, data_dir: Path | None) -> None:
    """Start the API, the admin UI, the workers and any embedded services in one process tree."""
    from werkzeug.serving import make_server

    from cli.embedded import EmbeddedRedis
    from hub.app import create_app
    from hub.infra.bootstrap import first_password, prepare
    from hub.security.auth import BOOTSTRAP_USER

    settings = command_settings(ctx, data_dir=data_dir)
    embedded = None
    if settings.redis_embedded:
        embedded = EmbeddedRedis(settings.data_dir)
        settings = settings.with_overrides(redis_url=embedded.start())
    # Bound first, so that with --port 0 the public URL (links in posts, OAuth callbacks)
    # names the port actually served, not 0.
    server = make_server(host, port, _not_ready, threaded=True)
    public_url = settings.public_url or f"http://{host}:{server.port}"
    settings = settings.with_overrides(public_url=public_url)
    runtime = command_runtime(settings)
    token = prepare(runtime)
    password = first_password(runtime)
    workers = _start_workers(settings)
    server.app = create_app(runtime=runtime)
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


def _not_ready(environ: dict, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


def _start_workers(settings: Settings) -> list[subprocess.Popen]:
    env = {**os.environ, "YUNCHU_REDIS_URL": settings.redis_url,
           "YUNCHU_DATABASE_URL": settings.database_url,
           "YUNCHU_DATA_DIR": str(settings.data_dir),
           "YUNCHU_PUBLIC_URL": settings.public_url}
    return [subprocess.Popen([sys.executable, "-m", "cli", "worker"], env=env,
                             preexec_fn=die_with_parent)
            for _ in range(settings.workers)]


@click.command()
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.pass_context
def worker(ctx: click.Context, burst: bool) -> None:
    """Run one fan-out worker (withdrawals first, then pushes, then maintenance)."""
    from hub.worker import run_worker

    settings = command_settings(ctx)
    if settings.redis_embedded:
        raise click.ClickException("yunchu worker needs YUNCHU_REDIS_URL (the hub's Redis)")
    run_worker(command_runtime(settings), burst=burst)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8900, show_default=True, type=int)
@click.option("--latency-ms", default=0, show_default=True, type=float)
@click.option("--jitter-ms", default=0, show_default=True, type=float)
def sandbox(host: str, port: int, latency_ms: float, jitter_ms: float) -> None:
    """Serve the wire-faithful platform sandbox (every platform's emulator)."""
    from sandbox.server import run

    run(host, port, latency_ms=latency_ms, jitter_ms=jitter_ms)
