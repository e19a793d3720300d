"""`yunchu import orgs|accounts FILE`: the org and account sheets, an upsert."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cli.context import command_runtime, command_settings


@click.command("import")
@click.argument("kind", type=click.Choice(["orgs", "accounts"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_cmd(ctx: click.Context, kind: str, file: Path) -> None:
    """Import orgs or accounts from a CSV or JSON file (upsert)."""
    from hub.errors import ApiError
    from hub.infra import migrate
    from hub.security.outbound_policy import check_account_urls, policy_for
    from hub.services import accounts as account_service
    from hub.services import orgs as org_service

    runtime = command_runtime(command_settings(ctx))
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
    from hub.services.import_sheets import UnreadableFile, read_rows

    try:
        return read_rows(file.read_text(encoding="utf-8-sig"), kind,
                         as_json=file.suffix.lower() == ".json")
    except UnreadableFile as err:
        raise click.ClickException(f"{file}: {err}") from None
