"""`yunchu demo`: the whole story on this machine (the steps are in cli/demo_run.py)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click


@click.command()
@click.option("--accounts", default=3000, show_default=True, type=int)
@click.option("--port", default=0, type=int, help="Hub port (default: a free one).")
@click.option("--data-dir", default=Path("var/demo"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
@click.option("--exit", "exit_after", is_flag=True, help="Stop after the summary.")
def demo(accounts: int, port: int, data_dir: Path, exit_after: bool) -> None:
    """Seed a province, push an article and a video to it, withdraw one: all on this machine."""
    from cli.demo_run import run_demo

    with contextlib.suppress(KeyboardInterrupt):
        run_demo(data_dir=data_dir, accounts=accounts, port=port, keep_running=not exit_after)
