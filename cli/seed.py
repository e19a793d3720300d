"""`yunchu seed`: a realistic province to try the hub on."""

from __future__ import annotations

import time

import click

from cli.context import command_runtime, command_settings


@click.command()
@click.option("--accounts", "count", default=2000, show_default=True, type=int)
@click.option("--sandbox", default=None, help="Point every account at this sandbox URL.")
@click.pass_context
def seed(ctx: click.Context, count: int, sandbox: str | None) -> None:
    """Build a realistic province with COUNT accounts over the platforms."""
    from cli.province import seed as run_seed
    from hub.infra import migrate

    settings = command_settings(ctx)
    if sandbox:
        from hub.security.outbound_policy import policy_for

        if policy_for(settings).url_refusal(None, sandbox) is not None:
            click.echo(f"注意：出站策略不允许连接 {sandbox}，推送前请设置 YUNCHU_OUTBOUND_ALLOW"
                       f"（note: the outbound policy refuses {sandbox}; name its host:port in "
                       f"YUNCHU_OUTBOUND_ALLOW for `yunchu up` and the workers)", err=True)
    runtime = command_runtime(settings)
    migrate.upgrade(runtime.db.engine)
    started = time.perf_counter()
    result = run_seed(runtime, accounts=count, sandbox=sandbox)
    click.echo(f"seeded {result.orgs} orgs and {result.accounts} accounts "
               f"{result.by_platform} in {time.perf_counter() - started:.1f}s")
