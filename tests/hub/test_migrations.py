"""The migrations build exactly the schema the models describe, on both databases, and the
newest ones can be undone and redone."""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from hub.infra import migrate
from hub.infra.db import make_engine
from hub.models import Base


def _differences(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                              "include_name": migrate.include_name})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def _predicate(where) -> tuple[frozenset[str], bool]:
    """What a partial index's WHERE means, as far as ours go: the quoted names it lists and
    whether it is an IS NOT NULL test (PostgreSQL gives the clause back rewritten)."""
    text = str(where)
    return frozenset(re.findall(r"'(\w+)'", text)), "IS NOT NULL" in text.upper()


def test_migrated_postgresql_matches_the_models(pg_database_url: str):
    assert _differences(pg_database_url) == []
    # Alembic does not compare partial-index predicates: check them here.
    engine = make_engine(pg_database_url)
    try:
        for table in Base.metadata.sorted_tables:
            wanted = {ix.name: _predicate(ix.dialect_options["postgresql"]["where"])
                      for ix in table.indexes if ix.dialect_options["postgresql"]["where"]
                      is not None}
            if not wanted:
                continue
            found = {ix["name"]: _predicate(ix["dialect_options"]["postgresql_where"])
                     for ix in inspect(engine).get_indexes(table.name)
                     if ix.get("dialect_options", {}).get("postgresql_where")}
            assert found == wanted, table.name
    finally:
        engine.dispose()


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
