"""The ``yunchu`` command line: ``main`` is the group, one module per command (group)."""

from __future__ import annotations

import logging

import click

from cli.audit import audit
from cli.bench import bench
from cli.demo import demo
from cli.imports import import_cmd
from cli.push import push
from cli.reach import reach
from cli.schema import db
from cli.seed import seed
from cli.serve import sandbox, up, worker
from cli.users import users
from cli.withdraw import withdraw


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def main(verbose: bool) -> None:
    """云厨 yunchu — the regional central-kitchen hub for government new media."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


for command in (up, worker, db, users, import_cmd, seed, sandbox, bench, push, withdraw, demo,
                audit, reach):
    main.add_command(command)
