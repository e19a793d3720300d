"""`yunchu reach collect`: start a reach collection now instead of waiting for the interval."""

from __future__ import annotations

import click

from cli.context import command_runtime, command_settings


@click.group()
def reach() -> None:
    """Reach (传播) figures collected from the platforms."""


@reach.command("collect")
@click.pass_context
def reach_collect(ctx: click.Context) -> None:
    """Put one collection job per batch of accounts on the maintenance queue now (the workers
    run them after withdrawals and pushes); the next scheduled collection is not moved."""
    from hub.services.reach import schedule

    runtime = command_runtime(command_settings(ctx))
    if not runtime.settings.redis_url:
        raise click.ClickException("需要 Redis (YUNCHU_REDIS_URL): the jobs go on its queue")
    jobs = schedule.plan(runtime, runtime.redis)
    runtime.close()
    click.echo("reach collection queued: " + ", ".join(f"{p} {n} jobs" for p, n in jobs.items()))
