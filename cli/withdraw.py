"""`yunchu withdraw ITEM`: a one-click withdrawal through a running hub's REST API."""

from __future__ import annotations

import click

from cli.context import hub_client, token_option, url_option


@click.command()
@click.argument("item")
@click.option("--reason", required=True, help="Why (recorded in the audit log).")
@click.option("--follow", is_flag=True, help="Show live progress until zero remain.")
@url_option
@token_option
@click.pass_context
def withdraw(ctx: click.Context, item: str, reason: str, follow: bool, url: str | None,
             token: str | None) -> None:
    """One-click withdrawal of ITEM from every account, copy and feed."""
    from cli.client import HubError
    from cli.follow import follow_withdrawal, summary

    client = hub_client(ctx, url, token)
    try:
        answer = client.call("POST", f"/api/v1/items/{item}/withdraw", {"reason": reason})
        click.echo(f"withdrawal: {answer['withdrawal_id']} total: {answer['total']}")
        if follow:
            result = follow_withdrawal(client, answer["withdrawal_id"])
            click.echo(f"剩余 (remaining): {result['remaining']}  {summary(result['counts'])}")
    except HubError as err:
        raise click.ClickException(str(err)) from None
