"""`yunchu db upgrade`: the database schema."""

from __future__ import annotations

import click

from cli.context import command_runtime, command_settings


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply all schema migrations."""
    from hub.infra.bootstrap import upgrade

    runtime = command_runtime(command_settings(ctx))
    upgrade(runtime)
    click.echo("database is at the latest schema")
