"""The migrations build exactly the schema the models describe, on both databases, and the
newest ones can be undone and redone."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub import migrate
from hub.db import make_engine
from hub.models import Base


def _differences(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_migrated_postgresql_matches_the_models(pg_database_url: str):
    assert _differences(pg_database_url) == []


def test_migrated_sqlite_matches_the_models_and_survives_a_downgrade(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    config = migrate.alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002_audit_head")
        columns = [row[1] for row in connection.exec_driver_sql("PRAGMA table_info(deliveries)")]
        assert "interrupted" not in columns
    migrate.upgrade(engine)
    engine.dispose()
    assert _differences(url) == []
