"""Create or upgrade the database schema with Alembic, from inside the app (no alembic.ini to ship or find).

A database made before migrations existed (the release that called `create_all`) has the tables but no
`alembic_version`: it is stamped with the baseline revision, which describes exactly that schema, and then upgraded
in place like any other. On PostgreSQL an advisory lock makes server processes starting together migrate one at a
time; SQLite serialises writers by itself.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: The revision whose schema is the one the pre-migration release created.
BASELINE_REVISION = "0001"
#: Any fixed number: the PostgreSQL advisory lock held while migrating.
_MIGRATION_LOCK = 17_000_017


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Bring the database at `engine` to `revision`, creating every table on an empty database."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        tables = set(inspect(conn).get_table_names())
        config = alembic_config(conn)
        if "alembic_version" not in tables and "uploads" in tables:
            command.stamp(config, BASELINE_REVISION)
        command.upgrade(config, revision)
