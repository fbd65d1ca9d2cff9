"""Alembic environment. Migrations run only through `opendream.jobs.migrate`, which hands over
an open connection (inside a transaction holding the migration lock)."""

from __future__ import annotations

from alembic import context

from opendream.jobs.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations with `opendream db upgrade` (opendream.jobs.migrate.upgrade), "
        "not the alembic command line"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
