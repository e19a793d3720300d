"""Alembic environment: runs against the connection handed over by hub.infra.migrate."""

from __future__ import annotations

from alembic import context

from hub.infra.migrate import include_name
from hub.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `yunchu db upgrade` (hub.infra.migrate)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
