"""Alembic environment: the URL comes from the caller (dinecard db upgrade), never a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from dinecard.platform.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""
assert url, "migrations need a database URL"


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = create_engine(url)
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
