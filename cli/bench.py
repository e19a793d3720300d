"""`yunchu bench`: push and withdrawal measured end to end (the code is in bench/)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cli.context import command_settings


@click.command()
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
@click.option("--withdraw-at", default=None, type=click.FloatRange(0.0, 1.0, max_open=True),
              help="The emergency instead: click the withdrawal once this share of the push "
                   "is live; reports emergency_ratio against a standalone withdrawal of the "
                   "same posts.")
@click.option("--intake", is_flag=True,
              help="Comment intake instead (bench/intake.py): a day's comments under every "
                   "post read by the maintenance queue, and a withdrawal timed alone and "
                   "with intake running (withdraw_ratio).")
@click.option("--comments-per-day", default=20.0, show_default=True, type=float,
              help="With --intake: comments the sandbox writes under each post a day.")
@click.option("--profile", "profile_dir", default=None,
              type=click.Path(file_okay=False, path_type=Path),
              help="Record py-spy profiles of the withdrawal (workers, sandbox, API) here "
                   "(bench/profile.py).")
@click.pass_context
def bench(ctx: click.Context, accounts: int, latency_ms: float, workers: int, baseline: bool,
          json_path: Path | None, timeout: float, baseline_timeout: float | None,
          kill_worker_at: float | None, withdraw_at: float | None, intake: bool,
          comments_per_day: float, profile_dir: Path | None) -> None:
    """Measure push and withdrawal end to end against the sandbox (configured PostgreSQL/Redis)."""
    from bench.run import run

    command_settings(ctx)
    if intake:
        if baseline or kill_worker_at is not None or withdraw_at is not None:
            raise click.BadParameter("--intake 单独运行 (runs alone)", param_hint="--intake")
        from bench.intake import run_intake_bench

        report = run_intake_bench(accounts=accounts, latency_ms=latency_ms, workers=workers,
                                  json_path=json_path, timeout=timeout,
                                  comments_per_day=comments_per_day,
                                  log=lambda line: click.echo(line, err=True))
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    if kill_worker_at is not None and workers < 2:
        raise click.BadParameter("需要至少两个工作进程 (needs --workers 2 or more: one is "
                                 "killed, the others finish)", param_hint="--kill-worker-at")
    if withdraw_at is not None and (baseline or kill_worker_at is not None):
        raise click.BadParameter("--withdraw-at 单独运行 (runs alone: not with --baseline or "
                                 "--kill-worker-at)", param_hint="--withdraw-at")
    report = run(accounts=accounts, latency_ms=latency_ms, baseline=baseline,
                 json_path=json_path, workers=workers, timeout=timeout,
                 baseline_timeout=baseline_timeout, kill_worker_at=kill_worker_at,
                 withdraw_at=withdraw_at, log=lambda line: click.echo(line, err=True),
                 profile_dir=profile_dir)
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))
