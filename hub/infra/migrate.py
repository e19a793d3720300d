"""Schema migrations (Alembic), run programmatically so no alembic.ini is needed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

import hub
from hub.models.reach import is_partition

# Found from the package, not from this file, so the module can live anywhere inside it.
MIGRATIONS = Path(hub.__file__).with_name("migrations")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """What Alembic compares: not reach_post_days' monthly partitions, which the models do not
    declare (they are made by migration 0012 and by the collector)."""
    return not (type_ == "table" and name is not None and is_partition(name))


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new revision against the given (up-to-date) database."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
