"""`yunchu push ITEM`: a one-click push through a running hub's REST API."""

from __future__ import annotations

from typing import Any

import click

from cli.context import PlatformName, hub_client, token_option, url_option


@click.command()
@click.argument("item")
@click.option("--all", "everything", is_flag=True, help="Every account of the province.")
@click.option("--org", "orgs", multiple=True, help="Org subtree (repeatable).")
@click.option("--platform", "platforms", multiple=True,
              type=PlatformName())
@click.option("--matrix", "matrices", multiple=True)
@click.option("--account", "accounts", multiple=True)
@click.option("--schedule-at", default=None, help="RFC 3339 time to publish at.")
@click.option("--follow", is_flag=True, help="Show live progress until done.")
@url_option
@token_option
@click.pass_context
def push(ctx: click.Context, item: str, everything: bool, orgs: tuple[str, ...],
         platforms: tuple[str, ...], matrices: tuple[str, ...], accounts: tuple[str, ...],
         schedule_at: str | None, follow: bool, url: str | None, token: str | None) -> None:
    """One-click push of an approved ITEM."""
    from cli.client import HubError
    from cli.follow import follow_dispatches, summary

    client = hub_client(ctx, url, token)
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
