"""`yunchu users create` and `yunchu users set-password`: people and their tokens."""

from __future__ import annotations

import sys

import click

from cli.context import command_runtime, command_settings


@click.group()
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
    from hub.errors import ApiError
    from hub.infra import migrate
    from hub.services import orgs as org_service
    from hub.services import users as user_service

    runtime = command_runtime(command_settings(ctx))
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
    from hub.errors import ApiError
    from hub.infra import migrate
    from hub.services import users as user_service

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("新密码 (new password)", hide_input=True,
                                confirmation_prompt="再输入一次 (repeat)")
    runtime = command_runtime(command_settings(ctx))
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
