"""Alembic's entry point: migrations always run on the connection migrate.py hands over."""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through colorize.web.migrate.upgrade_schema")
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
