"""`yunchu audit verify` and `yunchu audit reseal`: the tamper-evident audit log."""

from __future__ import annotations

import click

from cli.context import command_runtime, command_settings


@click.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Check the keyed chain and its checkpoint; exit 1 if any entry was edited or removed."""
    from hub.security.audit import verify_chain

    runtime = command_runtime(command_settings(ctx))
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
    from hub.security.audit import reseal

    runtime = command_runtime(command_settings(ctx))
    entry = reseal(runtime.db, reason)
    click.echo(f"audit log resealed at entry {entry.id}")
